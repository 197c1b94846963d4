using System.Numerics;
using System.Runtime.InteropServices;
using BuddySlab.Buddy;
using BuddySlab.Os;

namespace BuddySlab.Caches;

/// <summary>
/// Memory for the caches' own structures (magazines, page-run stacks, the arrays of previous magazines), carved from
/// the allocator's own pages instead of the process's C heap: a heap that replaces <c>malloc</c> must not call it, and
/// a heap's metadata should live and go with the heap. Chunks come in power-of-two sizes from 256 bytes to 4 KiB; each
/// size keeps a free list threaded through its free chunks, and new chunks are cut from the current 64 KiB run, taken
/// from the page back end and marked as metadata (so no <c>Free</c> or <c>FreePages</c> of a program can give it back).
/// Runs stay until the heap goes (they go with its regions); freed chunks are reused.
/// <para><b>Invariants.</b> A chunk is on exactly one free list or in use; <see cref="HeldBytes"/> counts the runs taken.
/// Without a page back end (tests of the caches alone) chunks come from <see cref="NativeMemory"/>. Thread-safe: one
/// spin lock, held for a pop, a push or a cut; the run itself is taken with the lock let go.</para>
/// </summary>
internal sealed unsafe class MetadataArena(PageBackend? pages)
{
    private const int MinShift = 8, MaxShift = 12;
    private const int RunPages = 16;

    private BackoffLock _lock;
    private readonly nuint[] _free = new nuint[MaxShift - MinShift + 1];   // per size: the first free chunk, or 0
    private nuint _cut, _cutEnd;                                            // what is left of the current run
    private long _held;

    /// <summary>Bytes of the runs taken from the heap's pages (none without a page back end).</summary>
    public long HeldBytes => Volatile.Read(ref _held);

    /// <summary>A chunk of at least <paramref name="bytes"/> (at most 4 KiB), zeroed; null when the heap has no page to
    /// give.</summary>
    public void* Allocate(nuint bytes)
    {
        int shift = ShiftFor(bytes);
        if (pages is null) return NativeMemory.AllocZeroed((nuint)1 << shift);
        nuint size = (nuint)1 << shift;
        while (true)
        {
            _lock.Enter();
            nuint chunk = _free[shift - MinShift];
            if (chunk != 0) _free[shift - MinShift] = *(nuint*)chunk;
            else if (_cutEnd - _cut >= size)
            {
                chunk = _cut;
                _cut += size;
            }
            _lock.Exit();
            if (chunk != 0)
            {
                NativeMemory.Clear((void*)chunk, size);
                return (void*)chunk;
            }
            if (!TakeRun()) return null;
        }
    }

    /// <summary>Gives back a chunk from <see cref="Allocate"/> of the same <paramref name="bytes"/>.</summary>
    public void Free(void* chunk, nuint bytes)
    {
        if (chunk == null) return;
        int shift = ShiftFor(bytes);
        if (pages is null)
        {
            NativeMemory.Free(chunk);
            return;
        }
        _lock.Enter();
        *(nuint*)chunk = _free[shift - MinShift];
        _free[shift - MinShift] = (nuint)chunk;
        _lock.Exit();
    }

    /// <summary>Takes a new run of pages and makes it the one chunks are cut from (what was left of the old one is cut
    /// into free chunks of the sizes it holds, so nothing is lost).</summary>
    private bool TakeRun()
    {
        nuint runBytes = (nuint)RunPages * (nuint)pages!.Buddy.PageSize;
        if (!pages.TryAllocate(RunPages, (nuint)pages.Buddy.PageSize, lowMemory: false, out nuint run)) return false;
        pages.MarkMetadata(run);
        Interlocked.Add(ref _held, (long)runBytes);
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
        _cut = run;
        _cutEnd = run + runBytes;
        _lock.Exit();
        return true;
    }

    private static int ShiftFor(nuint bytes)
    {
        if (bytes > (nuint)1 << MaxShift) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Metadata chunks are at most 4 KiB.");
        return Math.Max(MinShift, BitOperations.Log2(BitOperations.RoundUpToPowerOf2(Math.Max(bytes, 1))));
    }
}
