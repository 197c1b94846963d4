using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab.Caches;

/// <summary>
/// One CPU's share of an allocator: its slab allocator, its magazine depot, its cache of small page runs, and the lock
/// that guards all three. The lock is held for a slab operation, a magazine exchange or a page-run hand-over, never
/// while the buddy lock is taken. The depot's full magazines and the page runs count against the allocator's
/// <see cref="CacheBudget"/>: <see cref="TryPutFull"/> and <see cref="TakeFull"/> keep that count.
/// <para>Callers that take the lock without allocating from this CPU's slabs (readings, passes, trims, a thread draining
/// remote frees or taking page runs on another CPU) enter as visitors: a visit is counted as begun before the lock is
/// taken and as ended after it is let go, so the two counts differ whenever a visitor holds it. A thread that finds its
/// home's lock taken by a visitor waits for it instead of moving home.</para>
/// </summary>
internal sealed unsafe class CpuCache(int pageSize, int cpu, CacheBudget? budget = null)
{
    public BackoffLock Lock;
    public readonly SlabAllocator Slabs = new(pageSize, cpu);
    public readonly MagazineDepot[] Depot = new MagazineDepot[SizeClassTable.Sizes.Length];
    public readonly PageRunCache Pages = new(pageSize, budget);
    private int _visitsBegun, _visitsEnded;

    /// <summary>How many visits have ended; with <see cref="VisitedSince"/>, tells whether the lock a caller found taken
    /// may have been a visitor's.</summary>
    public int VisitsEnded => Volatile.Read(ref _visitsEnded);

    /// <summary>True when a visit was under way when <see cref="VisitsEnded"/> answered <paramref name="ended"/>, or began
    /// since: every visit that held the lock at any moment after that reading counts. A caller reads
    /// <see cref="VisitsEnded"/> before it tries the lock, so a visitor that let go in between still counts.</summary>
    public bool VisitedSince(int ended) => Volatile.Read(ref _visitsBegun) != ended;

    /// <summary>Takes the lock as a visitor (see the class comment); leave with <see cref="ExitAsVisitor"/>.</summary>
    public void EnterAsVisitor()
    {
        Interlocked.Increment(ref _visitsBegun);
        Lock.Enter();
    }

    /// <summary>Takes the lock as a visitor if it is free; false (and nothing held) otherwise.</summary>
    public bool TryEnterAsVisitor()
    {
        Interlocked.Increment(ref _visitsBegun);
        if (Lock.TryEnter()) return true;
        Interlocked.Increment(ref _visitsEnded);
        return false;
    }

    /// <summary>Lets go of a lock taken with <see cref="EnterAsVisitor"/> or <see cref="TryEnterAsVisitor"/>.</summary>
    public void ExitAsVisitor()
    {
        Lock.Exit();
        Interlocked.Increment(ref _visitsEnded);
    }

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
