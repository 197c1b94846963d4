using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Buddy;
using BuddySlab.Os;

namespace BuddySlab.Caches;

/// <summary>
/// Memory for the caches' own structures (magazines, page-run stacks, the arrays of previous magazines), carved from
/// the allocator's own pages instead of the process's C heap: a heap that replaces <c>malloc</c> must not call it, and
/// a heap's metadata should live and go with the heap.
/// <para><b>Layout.</b> Chunks come in power-of-two sizes from 256 bytes to 4 KiB, cut from <i>runs</i> of 16 pages taken
/// from the page back end, aligned to their size and marked as metadata (so no <c>Free</c> or <c>FreePages</c> of a
/// program can give one back). A run's first 256 bytes are its header: the next run and how many of its chunks are in
/// use; a chunk finds its run by clearing low bits. Each size keeps a free list threaded through its free chunks; new
/// chunks are cut from the newest run.</para>
/// <para><b>Decay.</b> <see cref="Release"/> (a trim, or a purge pass over an idle heap) gives back every run none of whose
/// chunks is in use, so what the arena holds follows the threads that live, not the most that ever did.</para>
/// <para><b>Invariants.</b> A chunk is on exactly one free list, in use, or in the uncut rest of the newest run; a run's
/// count is its chunks in use; <see cref="HeldBytes"/> counts the runs held. When the heap has no page to give (its
/// budget is spent) a chunk comes from <see cref="NativeMemory"/> instead, and <see cref="Free"/> tells the two apart by
/// the address; so does an arena without a page back end (<see cref="Standalone"/>, for the caches alone). Thread-safe:
/// one spin lock, held for a pop, a push, a cut or a release, never while taking pages.</para>
/// </summary>
internal sealed unsafe class MetadataArena
{
    private const int MinShift = 8, MaxShift = 12;
    private const int RunPages = 16;

    /// <summary>An arena that takes every chunk from <see cref="NativeMemory"/>: for caches used without an allocator.</summary>
    public static readonly MetadataArena Standalone = new(null);

    private readonly PageBackend? _pages;
    private readonly nuint _runBytes;
    private BackoffLock _lock;
    private readonly nuint[] _free = new nuint[MaxShift - MinShift + 1];   // per size: the first free chunk, or 0
    private nuint _runs;                                                    // the runs held, newest first (0 ends)
    private nuint _cut, _cutEnd;                                            // what is left of the newest run
    private long _held;

    [StructLayout(LayoutKind.Sequential)]
    private struct RunHeader
    {
        public nuint Next;
        public nint InUse;          // chunks of the run in use; -1 while the run is being given back
    }

    public MetadataArena(PageBackend? pages)
    {
        _pages = pages;
        _runBytes = pages is null ? 0 : (nuint)RunPages * (nuint)pages.Buddy.PageSize;
    }

    /// <summary>Bytes of the runs taken from the heap's pages (none without a page back end).</summary>
    public long HeldBytes => Volatile.Read(ref _held);

    /// <summary>A chunk of at least <paramref name="bytes"/> (at most 4 KiB), not cleared. Never fails short of the
    /// process running out of memory.</summary>
    public void* Allocate(nuint bytes)
    {
        int shift = ShiftFor(bytes);
        if (_pages is null) return NativeMemory.Alloc((nuint)1 << shift);
        while (true)
        {
            nuint chunk = TryTake(shift);
            if (chunk != 0) return (void*)chunk;
            if (!TryTakeRun()) return NativeMemory.Alloc((nuint)1 << shift);     // the heap has no page to give
        }
    }

    /// <summary>Gives back a chunk from <see cref="Allocate"/> of the same <paramref name="bytes"/>.</summary>
    public void Free(void* chunk, nuint bytes)
    {
        if (chunk == null) return;
        int shift = ShiftFor(bytes);
        if (_pages is null || !_pages.IsInRegion((nuint)chunk))
        {
            NativeMemory.Free(chunk);
            return;
        }
        _lock.Enter();
        *(nuint*)chunk = _free[shift - MinShift];
        _free[shift - MinShift] = (nuint)chunk;
        RunOf((nuint)chunk)->InUse--;
        _lock.Exit();
    }

    /// <summary>Gives every run with no chunk in use back to the page back end; returns the bytes given.</summary>
    public nuint Release()
    {
        if (_pages is null) return 0;
        nuint dead = 0;
        _lock.Enter();
        // Unlink the empty runs, marking them so the filter below can tell their chunks.
        ref nuint link = ref _runs;
        while (link != 0)
        {
            var run = (RunHeader*)link;
            if (run->InUse != 0)
            {
                link = ref run->Next;
                continue;
            }
            run->InUse = -1;
            link = run->Next;
            run->Next = dead;
            dead = (nuint)run;
        }
        if (dead != 0)
        {
            for (int i = 0; i < _free.Length; i++)
            {
                ref nuint next = ref _free[i];
                while (next != 0)
                {
                    if (RunOf(next)->InUse < 0) next = *(nuint*)next;     // a chunk of a run going back: drop it
                    else next = ref *(nuint*)next;
                }
            }
            if (_cut != 0 && RunOf(_cut)->InUse < 0) _cut = _cutEnd = 0;
        }
        _lock.Exit();
        nuint given = 0;
        while (dead != 0)
        {
            nuint run = dead;
            dead = ((RunHeader*)run)->Next;
            _pages.FreeMetadata(run);
            Interlocked.Add(ref _held, -(long)_runBytes);
            given += _runBytes;
        }
        return given;
    }

    /// <summary>Takes the lock for a fork (see the allocator's fork handlers).</summary>
    public void LockForFork() => _lock.Enter();

    /// <summary>Lets go of the lock after a fork, in the parent or the child.</summary>
    public void UnlockAfterFork() => _lock.Exit();

    private RunHeader* RunOf(nuint chunk) => (RunHeader*)(chunk & ~(_runBytes - 1));

    /// <summary>A chunk from the free list of its size or cut from the newest run, counted in its run; 0 when neither
    /// has one.</summary>
    private nuint TryTake(int shift)
    {
        nuint size = (nuint)1 << shift;
        _lock.Enter();
        nuint chunk = _free[shift - MinShift];
        if (chunk != 0) _free[shift - MinShift] = *(nuint*)chunk;
        else if (_cutEnd - _cut >= size)
        {
            chunk = _cut;
            _cut += size;
        }
        if (chunk != 0) RunOf(chunk)->InUse++;
        _lock.Exit();
        return chunk;
    }

    /// <summary>Takes a new run of pages and makes it the one chunks are cut from; what was left of the old one is cut
    /// into free chunks of the sizes it holds, so nothing is lost. False when the heap has no run to give.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryTakeRun()
    {
        PageBackend pages = _pages!;
        int growthsSeen = pages.GrowthCount;
        if (!pages.TryAllocate(RunPages, _runBytes, lowMemory: false, out nuint run)
            && !(pages.TryGrow(_runBytes, _runBytes, growthsSeen) && pages.TryAllocate(RunPages, _runBytes, lowMemory: false, out run)))
            return false;
        pages.MarkMetadata(run);
        Interlocked.Add(ref _held, (long)_runBytes);
        var header = (RunHeader*)run;
        header->InUse = 0;
        _lock.Enter();
        for (int shift = MaxShift; shift >= MinShift; shift--)
        {
            nuint size = (nuint)1 << shift;
            while (_cutEnd - _cut >= size)
            {
                *(nuint*)_cut = _free[shift - MinShift];
                _free[shift - MinShift] = _cut;
                _cut += size;
            }
        }
        header->Next = _runs;
        _runs = run;
        _cut = run + ((nuint)1 << MinShift);          // past the header
        _cutEnd = run + _runBytes;
        _lock.Exit();
        return true;
    }

    private static int ShiftFor(nuint bytes)
    {
        if (bytes > (nuint)1 << MaxShift) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Metadata chunks are at most 4 KiB.");
        return Math.Max(MinShift, BitOperations.Log2(BitOperations.RoundUpToPowerOf2(Math.Max(bytes, 1))));
    }
}
