using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab.Caches;

/// <summary>
/// One CPU's share of an allocator: its slab allocator, its magazine depot, its cache of small page runs, and the lock
/// that guards all three. The lock is held for a slab operation, a magazine exchange or a page-run hand-over, never
/// while the buddy lock is taken. The depot's full magazines and the page runs count against the allocator's
/// <see cref="CacheBudget"/>: <see cref="TryPutFull"/> and <see cref="TakeFull"/> keep that count.
/// </summary>
internal sealed unsafe class CpuCache(int pageSize, int cpu, CacheBudget? budget = null)
{
    public BackoffLock Lock;
    public readonly SlabAllocator Slabs = new(pageSize, cpu);
    public readonly MagazineDepot[] Depot = new MagazineDepot[SizeClassTable.Sizes.Length];
    public readonly PageRunCache Pages = new(pageSize, budget);

    /// <summary>Keeps a full magazine of class <paramref name="cls"/> when the depot and the budget have room (under the
    /// lock); false leaves it with the caller.</summary>
    public bool TryPutFull(int cls, Magazine* full)
    {
        long bytes = BytesOf(cls, full);
        if (budget is not null && !budget.TryHold(bytes)) return false;
        if (Depot[cls].TryPutFull(full)) return true;
        budget?.Release(bytes);
        return false;
    }

    /// <summary>A full magazine of class <paramref name="cls"/> from the depot, or null (under the lock).</summary>
    public Magazine* TakeFull(int cls)
    {
        Magazine* full = Depot[cls].TakeFull();
        if (full != null) budget?.Release(BytesOf(cls, full));
        return full;
    }

    /// <summary>Bytes of objects in the depot's full magazines (under the lock).</summary>
    public long DepotBytes
    {
        get
        {
            long bytes = 0;
            for (int cls = 0; cls < Depot.Length; cls++)
                for (Magazine* m = Depot[cls].Full; m != null; m = m->Next) bytes += BytesOf(cls, m);
            return bytes;
        }
    }

    private static long BytesOf(int cls, Magazine* m) => (long)m->Count * SizeClassTable.Sizes[cls];
}
