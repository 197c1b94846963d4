using System.Runtime.InteropServices;

namespace BuddySlab.Caches;

/// <summary>
/// One thread's free page runs of one length (1 to <see cref="MaxPages"/> pages): the magazine of the page path. A
/// thread that frees a small page run pushes it here and its next allocation of that length pops it, with no lock;
/// a full stack hands its older runs to the CPU's page cache, an empty one takes a few from there (or from another
/// CPU's cache when its own has none), each in one locked step.
/// <para>Invariants: only its thread touches it (or the allocator, once the thread has exited); every run on it is
/// live in the buddy with its head record marked cached, so a second free of it is refused, and it counts as
/// allocated until flushed. A stack of n-page runs holds at most <see cref="Limit"/> runs, never more than
/// <see cref="LimitFor"/>(n): 16 of 1 to 8 pages, fewer of longer ones (at most <see cref="BudgetPages"/> pages), so a
/// thread caches at most 1,554 pages (6 MiB with 4 KiB pages). Under a random mix of lengths a count walks between
/// empty and full, and each end costs a locked trip to the CPU's cache, which is what sizes the stacks
/// (docs/tuning.md). While purge passes run, the thread's own slow paths give the CPU's cache, once an interval, the
/// runs each stack did not need in the previous one (<see cref="LowWater"/>); a thread that stops calling keeps its
/// runs until it exits, flushes or trims.</para>
/// <para><b>The limit follows use.</b> It starts at <see cref="MinLimitFor"/>(n) (<see cref="BatchPages"/> of runs) and
/// doubles each time the thread asks an empty stack for a run. It halves at a spill (down to <see cref="MinLimitFor"/>)
/// when the thread asked for no run of the length since the last purge step (<see cref="Asked"/>): it only frees that
/// length, as the reading end of a pipe frees what the writing end allocated, and what it parks would only wait. So a
/// thread that only frees parks at most <see cref="BatchPages"/> pages of each length (at least one run), one that only
/// takes holds at most a refill's worth, and one that does both keeps the whole stack.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RunStack
{
    public const int MaxPages = PageRunCache.MaxPages;     // the lengths the CPU caches hold, which the stacks spill to
    public const int Capacity = 16;

    /// <summary>Pages a stack of runs longer than 8 pages holds at most.</summary>
    public const int BudgetPages = 128;

    /// <summary>Pages a draining stack keeps at most (<see cref="MinLimitFor"/>), and a refill takes at most
    /// (<see cref="RefillFor"/>): runs of a few pages move in small batches, so each trip to the CPU's cache serves several,
    /// while runs of 8 pages or more move one at a time and a thread holds little of a length it only frees or only takes.</summary>
    public const int BatchPages = 8;

    /// <summary>The smallest limit a stack of <paramref name="pages"/>-page runs shrinks to while its thread drains that
    /// length, and the limit it starts with: <see cref="BatchPages"/> of runs, at least one.</summary>
    public static int MinLimitFor(int pages) => Math.Clamp(BatchPages / pages, 1, LimitFor(pages));

    /// <summary>Runs of <paramref name="pages"/> pages a refill of an empty stack takes at most: half its limit, at most
    /// <see cref="BatchPages"/> of runs, at least one.</summary>
    public static int RefillFor(int pages, int limit) => Math.Clamp(BatchPages / pages, 1, Math.Max(1, limit / 2));

    public int Count;
    public int Limit;               // runs held at most now: from MinLimitFor(n) to LimitFor(n), as the thread uses the length
    public int LowWater;            // fewest runs held since the last purge step: the oldest that many were not needed
    public int Asked;               // 1 once the thread asked it for a run since the last purge step (given or missed)
    public fixed ulong Items[Capacity];

    /// <summary>Runs of <paramref name="pages"/> pages a stack holds at most.</summary>
    public static int LimitFor(int pages) => Math.Clamp(BudgetPages / pages, 2, Capacity);

    /// <summary>The stacks of one thread, for runs of 1 to <see cref="MaxPages"/> pages, from <paramref name="arena"/>.</summary>
    public static RunStack* CreateSet(MetadataArena arena)
    {
        var set = (RunStack*)arena.Allocate(SetBytes);
        NativeMemory.Clear(set, SetBytes);
        for (int pages = 1; pages <= MaxPages; pages++) set[pages - 1].Limit = MinLimitFor(pages);   // grows as the thread asks
        return set;
    }

    public static void DestroySet(MetadataArena arena, RunStack* set) => arena.Free(set, SetBytes);

    private static nuint SetBytes => (nuint)(MaxPages * sizeof(RunStack));
}
