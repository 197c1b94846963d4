using BuddySlab.Slab;

using BuddySlab.Os;

namespace BuddySlab.Caches;

/// <summary>
/// One CPU's share of an allocator: its slab allocator, its magazine depot, its cache of small
/// page runs, and the lock that guards all three. The lock is held for a slab operation, a magazine exchange or a
/// page-run hand-over, never while the buddy lock is taken.
/// </summary>
internal sealed class CpuCache(int pageSize, int cpu)
{
    public BackoffLock Lock;
    public readonly SlabAllocator Slabs = new(pageSize, cpu);
    public readonly MagazineDepot[] Depot = new MagazineDepot[SizeClassTable.Sizes.Length];
    public readonly PageRunCache Pages = new(pageSize);
}
