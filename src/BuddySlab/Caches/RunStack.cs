using System.Runtime.InteropServices;

namespace BuddySlab.Caches;

/// <summary>
/// One thread's free page runs of one length (1 to <see cref="MaxPages"/> pages): the magazine of the page path. A
/// thread that frees a small page run pushes it here and its next allocation of that length pops it, with no lock;
/// a full stack hands its older half to the CPU's page cache, an empty one takes up to half a stack from there, each
/// in one locked step.
/// <para>Invariants: only its thread touches it (or the allocator, once the thread has exited); every run on it is
/// live in the buddy with its head record marked cached, so a second free of it is refused, and it counts as
/// allocated until flushed. A stack of n-page runs holds at most <see cref="Limit"/> = <see cref="LimitFor"/>(n) runs:
/// 16 of 1 to 8 pages, fewer of longer ones (at most <see cref="BudgetPages"/> pages), so a thread caches at most 1,554
/// pages (6 MiB with 4 KiB pages). Under a random mix of lengths a count walks between empty and full, and each end
/// costs a locked trip to the CPU's cache, which is what sizes the stacks (docs/tuning.md). While purge passes run,
/// the thread's own slow paths give the CPU's cache, once an interval, the runs each stack did not need in the
/// previous one (<see cref="LowWater"/>); a thread that stops calling keeps its runs until it exits, flushes or
/// trims.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RunStack
{
    public const int MaxPages = PageRunCache.MaxPages;     // the lengths the CPU caches hold, which the stacks spill to
    public const int Capacity = 16;

    /// <summary>Pages a stack of runs longer than 8 pages holds at most.</summary>
    public const int BudgetPages = 128;

    public int Count;
    public int Limit;
    public int LowWater;            // fewest runs held since the last purge step: the oldest that many were not needed
    public fixed ulong Items[Capacity];

    /// <summary>Runs of <paramref name="pages"/> pages a stack holds at most.</summary>
    public static int LimitFor(int pages) => Math.Clamp(BudgetPages / pages, 2, Capacity);

    /// <summary>The stacks of one thread, for runs of 1 to <see cref="MaxPages"/> pages, from <paramref name="arena"/>.</summary>
    public static RunStack* CreateSet(MetadataArena arena)
    {
        var set = (RunStack*)arena.Allocate(SetBytes);
        NativeMemory.Clear(set, SetBytes);
        for (int pages = 1; pages <= MaxPages; pages++) set[pages - 1].Limit = LimitFor(pages);
        return set;
    }

    public static void DestroySet(MetadataArena arena, RunStack* set) => arena.Free(set, SetBytes);

    private static nuint SetBytes => (nuint)(MaxPages * sizeof(RunStack));
}
