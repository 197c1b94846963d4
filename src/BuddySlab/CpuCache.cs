using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// One CPU's share of a <see cref="GlobalAllocator"/>: its slab allocator, its magazine depot, and the lock that
/// guards both. The lock is held for a slab operation or a magazine exchange, never while the buddy lock is taken.
/// </summary>
internal sealed class CpuCache(int pageSize, int cpu)
{
    public BackoffLock Lock;
    public readonly SlabAllocator Slabs = new(pageSize, cpu);
    public readonly MagazineDepot[] Depot = new MagazineDepot[SizeClassTable.Sizes.Length];
}
