using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Commands.Stress;

/// <summary>
/// One worker thread of a stress run. It keeps its own live blocks and, step by step, picks at random: allocate (sizes
/// 0..1 MiB, mostly small; an alignment of 1 to 8 KiB one time in three), free with <c>Free(p)</c> or the sized
/// <c>Free</c>, reallocate, ask <c>UsableSize</c>, hand a block to the next worker's queue, or check a block; it frees
/// what other workers handed it and what dead workers left, checks all its blocks every half second, and calls
/// <c>Trim()</c> now and then. A block's every byte is checked before it is freed or moved. After a random lifetime it
/// dies: it leaves its blocks to the survivors and its thread caches as they are.
/// </summary>
public sealed unsafe class StressWorker(StressState state, int slot, int generation)
{
    private const long MaxLiveBytes = 48L << 20;
    private const int MaxLiveBlocks = 4096;
    private static readonly TimeSpan CheckAllEvery = TimeSpan.FromMilliseconds(500);

    private readonly List<StressBlock> _live = [];
    private readonly StressCounters _counters = state.Counters;
    private FastRandom _random = new(state.Options.Seed * 0x9E3779B97F4A7C15 + (ulong)slot * 7919 + (ulong)generation);
    private long _liveBytes;
    private HeapSlot? _disposable;

    /// <summary>Runs until the run stops or the worker's lifetime ends; then leaves its blocks as orphans (or, at the
    /// end of the run, keeps them for the final check).</summary>
    public void Run(TimeSpan lifetime, bool injectCorruption)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var nextCheck = CheckAllEvery;
        try
        {
            while (!state.Stop && clock.Elapsed < lifetime)
            {
                // The disposable heap as this worker last saw it: calls on it may come after the supervisor replaced
                // and disposed it, which is the race the run is after.
                _disposable = state.Disposable;
                for (int i = 0; i < 64 && !state.Stop; i++) Step();
                Interlocked.Add(ref _counters.Operations, 64);
                DrainInbox();
                DrainOrphans(64);
                if (injectCorruption && clock.Elapsed > TimeSpan.FromSeconds(1))
                {
                    injectCorruption = false;
                    InjectCorruption();
                    CheckAll();
                }
                if (clock.Elapsed >= nextCheck)
                {
                    CheckAll();
                    nextCheck = clock.Elapsed + CheckAllEvery;
                }
            }
        }
        catch (CorruptionFound e) { state.Fail(StressState.ExitCorruption, e.Message); }
        catch (Exception e) { state.Fail(StressState.ExitUnexpected, $"worker {slot}.{generation}: unexpected {e.GetType().Name}: {e.Message}\n{e.StackTrace}"); }
        foreach (var b in _live) state.Orphans.Enqueue(b);
        _live.Clear();
        if (!state.Stop) Interlocked.Increment(ref _counters.ThreadDeaths);
    }

    private void Step()
    {
        uint r = _random.NextBelow(100);
        bool full = _liveBytes > MaxLiveBytes || _live.Count >= MaxLiveBlocks;
        if (_live.Count == 0 || (!full && r < 45)) { Allocate(); return; }
        int i = (int)_random.NextBelow((uint)_live.Count);
        if (full || r < 60) { Free(TakeAt(i), sized: false); return; }
        if (r < 72) { Free(TakeAt(i), sized: true); return; }
        if (r < 80) { Reallocate(i); return; }
        if (r < 85) { Usable(_live[i]); return; }
        if (r < 93) { Handoff(TakeAt(i)); return; }
        if (r < 99 || _random.NextBelow(256) != 0) { Check(_live[i]); return; }
        Trim();
    }

    /// <summary>0..1 MiB: nine in ten log-uniform below 4 KiB, the rest log-uniform in 4 KiB..1 MiB.</summary>
    private nuint NextSize()
    {
        double u = (_random.Next() >> 11) * (1.0 / (1UL << 53));
        return _random.NextBelow(10) == 0 ? (nuint)Math.Exp(Math.Log(4096) + u * (Math.Log(1 << 20) - Math.Log(4096)))
            : (nuint)(Math.Exp(u * Math.Log(4097)) - 1);
    }

    private void Allocate()
    {
        nuint size = NextSize();
        nuint alignment = _random.NextBelow(3) == 0 ? (nuint)1 << (int)_random.NextBelow(14) : 0;
        // One block in six from the disposable heap, when there is one.
        HeapSlot heapSlot = _random.NextBelow(6) == 0 && _disposable is { } d ? d : state.Main;
        void* p;
        try { p = alignment == 0 ? heapSlot.Heap.Allocate(size) : heapSlot.Heap.Allocate(size, alignment); }
        catch (Exception e) when (heapSlot.Disposable && heapSlot.Closed && e is ObjectDisposedException or AllocatorException)
        {
            Interlocked.Increment(ref _counters.RefusedByDisposedHeap);
            return;
        }
        Interlocked.Increment(ref _counters.Allocations);
        if (p == null) throw new CorruptionFound($"Allocate({size}, {alignment}) returned null.");
        if (alignment != 0 && (nuint)p % alignment != 0) throw new CorruptionFound($"Allocate({size}, {alignment}) returned 0x{(nuint)p:x}, not aligned.");
        var block = new StressBlock((nint)p, size, alignment, state.NextTag(), heapSlot);
        if (!heapSlot.TryEnterTouch())
        {
            Interlocked.Increment(ref _counters.DroppedWithHeap);
            return;
        }
        try { StressBlock.Fill((byte*)p, size, block.Tag); }
        finally { heapSlot.ExitTouch(); }
        Keep(block);
    }

    private void Keep(StressBlock b)
    {
        _live.Add(b);
        _liveBytes += (long)b.Size;
        b.Slot.Added(b.Size);
    }

    private StressBlock TakeAt(int i)
    {
        StressBlock b = _live[i];
        _live[i] = _live[^1];
        _live.RemoveAt(_live.Count - 1);
        _liveBytes -= (long)b.Size;
        b.Slot.Removed(b.Size);
        return b;
    }

    /// <summary>Checks every byte of <paramref name="b"/>; false (and the block dropped) when its heap was disposed.</summary>
    private bool Check(StressBlock b, nuint? length = null)
    {
        if (!b.Slot.TryEnterTouch()) return false;
        try
        {
            nuint n = length ?? b.Size;
            long bad = StressBlock.FirstMismatch((byte*)b.Pointer, n, b.Tag);
            if (bad >= 0)
                throw new CorruptionFound($"Corruption: block tag {b.Tag} (0x{b.Pointer:x}, {b.Size} bytes, alignment {b.Alignment}, " +
                                          $"heap {(b.Slot.Disposable ? $"disposable #{b.Slot.Generation}" : "long-lived")}) differs at offset {bad}.");
            Interlocked.Increment(ref _counters.Checks);
            Interlocked.Add(ref _counters.BytesChecked, (long)n);
            return true;
        }
        finally { b.Slot.ExitTouch(); }
    }

    private void Free(StressBlock b, bool sized)
    {
        // A block whose heap is being disposed cannot be checked, but freeing it is still a call the heap must answer
        // or refuse cleanly; then it is dropped.
        if (!Check(b)) Interlocked.Increment(ref _counters.DroppedWithHeap);
        try
        {
            if (sized) b.Slot.Heap.Free((void*)b.Pointer, b.Size, b.FreeAlignment);
            else b.Slot.Heap.Free((void*)b.Pointer);
        }
        catch (Exception e) when (b.Slot.Disposable && b.Slot.Closed && e is ObjectDisposedException or AllocatorException)
        {
            Interlocked.Increment(ref _counters.RefusedByDisposedHeap);
            return;
        }
        Interlocked.Increment(ref sized ? ref _counters.SizedFrees : ref _counters.UnsizedFrees);
    }

    /// <summary>Reallocates a block that was allocated without an alignment (the heap keeps only the default one when it
    /// moves a block): the moved block must start with the old bytes, and is then written with a new tag.</summary>
    private void Reallocate(int i)
    {
        if (_live[i].Alignment != 0) { Usable(_live[i]); return; }
        StressBlock old = TakeAt(i);
        if (!Check(old))
        {
            Interlocked.Increment(ref _counters.DroppedWithHeap);
            return;
        }
        nuint size = NextSize();
        void* p;
        try { p = old.Slot.Heap.Reallocate((void*)old.Pointer, size); }
        catch (Exception e) when (old.Slot.Disposable && old.Slot.Closed && e is ObjectDisposedException or AllocatorException)
        {
            Interlocked.Increment(ref _counters.RefusedByDisposedHeap);
            return;
        }
        Interlocked.Increment(ref _counters.Reallocations);
        var moved = new StressBlock((nint)p, size, 0, old.Tag, old.Slot);
        if (!Check(moved, Math.Min(size, old.Size)))
        {
            Interlocked.Increment(ref _counters.DroppedWithHeap);
            return;
        }
        moved = moved with { Tag = state.NextTag() };
        if (!moved.Slot.TryEnterTouch()) return;
        try { StressBlock.Fill((byte*)p, size, moved.Tag); }
        finally { moved.Slot.ExitTouch(); }
        Keep(moved);
    }

    private void Usable(StressBlock b)
    {
        nuint usable;
        try { usable = b.Slot.Heap.UsableSize((void*)b.Pointer); }
        catch (Exception e) when (b.Slot.Disposable && b.Slot.Closed && e is ObjectDisposedException or AllocatorException) { return; }
        Interlocked.Increment(ref _counters.UsableSizes);
        if (usable < b.Size) throw new CorruptionFound($"UsableSize of a block of {b.Size} bytes (tag {b.Tag}) is {usable}.");
    }

    private void Handoff(StressBlock b)
    {
        b.Slot.Added(b.Size);   // still live, now in a queue
        state.Inboxes[(slot + 1) % state.Inboxes.Length].Enqueue(b);
        Interlocked.Increment(ref _counters.Handoffs);
    }

    private void DrainInbox()
    {
        var inbox = state.Inboxes[slot];
        for (int n = 0; n < 256 && inbox.TryDequeue(out var b); n++)
        {
            b.Slot.Removed(b.Size);
            // Most handed blocks are freed here; some become this worker's own.
            if (_random.NextBelow(4) == 0 && _live.Count < MaxLiveBlocks) Keep(b);
            else Free(b, sized: _random.NextBelow(2) == 0);
        }
    }

    private void DrainOrphans(int most)
    {
        for (int n = 0; n < most && state.Orphans.TryDequeue(out var b); n++)
        {
            b.Slot.Removed(b.Size);
            Free(b, sized: false);
            Interlocked.Increment(ref _counters.OrphansFreed);
        }
    }

    /// <summary>At the end of the run, on the supervisor's thread: checks and frees every block left in the queues and
    /// by the workers, which have all stopped.</summary>
    public void FreeLeftovers()
    {
        try
        {
            foreach (var inbox in state.Inboxes)
                while (inbox.TryDequeue(out var b))
                {
                    b.Slot.Removed(b.Size);
                    Free(b, sized: true);
                }
            while (!state.Orphans.IsEmpty) DrainOrphans(int.MaxValue);
        }
        catch (CorruptionFound e) { state.Fail(StressState.ExitCorruption, e.Message); }
        catch (Exception e) { state.Fail(StressState.ExitUnexpected, $"final sweep: unexpected {e.GetType().Name}: {e.Message}\n{e.StackTrace}"); }
    }

    private void CheckAll()
    {
        for (int i = _live.Count - 1; i >= 0; i--)
            if (_live[i].Slot.Closed) Free(TakeAt(i), sized: false);
            else Check(_live[i]);
    }

    private void Trim()
    {
        state.Main.Heap.Trim();
        Interlocked.Increment(ref _counters.Trims);
    }

    /// <summary>Overwrites the middle byte of one live block of the long-lived heap, as a stray write would.</summary>
    private void InjectCorruption()
    {
        foreach (var b in _live)
        {
            if (b.Slot.Disposable || b.Size == 0) continue;
            ((byte*)b.Pointer)[b.Size / 2] ^= 0x5A;
            Console.WriteLine($"injected: flipped the byte at offset {b.Size / 2} of block tag {b.Tag} ({b.Size} bytes)");
            return;
        }
    }
}

/// <summary>What a worker throws when the heap handed it something wrong: memory that does not hold what was written,
/// a misaligned or null block, a usable size below the request.</summary>
public sealed class CorruptionFound(string message) : Exception(message);
