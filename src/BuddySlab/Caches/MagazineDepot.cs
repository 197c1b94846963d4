namespace BuddySlab.Caches;

/// <summary>
/// One CPU's depot for one size class: full magazines waiting for an allocating thread and empty ones waiting
/// for a freeing thread, each a stack linked through <see cref="Magazine.Next"/>. Bounded, so a thread that only
/// frees never strands memory here: beyond the bound a full magazine is flushed to the slabs instead. Guarded by the
/// CPU's lock.
/// </summary>
internal unsafe struct MagazineDepot
{
    public const int MaxMagazines = 4;

    public Magazine* Full;
    public Magazine* Empty;
    public int FullCount;
    public int EmptyCount;

    public Magazine* TakeFull() => Pop(ref Full, ref FullCount);

    public Magazine* TakeEmpty() => Pop(ref Empty, ref EmptyCount);

    /// <summary>Full magazines a depot (a CPU's, or a shelf of the shared one) keeps of a class above 2 KiB, whose
    /// magazines hold fewer than <see cref="Magazine.SmallCapacity"/> objects: one. Every full magazine a depot keeps
    /// counts against the one budget of the shared caches, which the CPUs' page-run caches share, and a run there serves
    /// any request of its length while a magazine serves one class; with four per class per CPU and the shared depot's
    /// allowance, a phase of mid-size blocks left the depots holding most of the budget, and the next phase's page runs
    /// (4 KiB blocks) went to the buddy each time until purge passes flushed them. Past one, such a magazine's objects go
    /// back to their slabs, and emptied slabs to the page-run caches.</summary>
    public const int MaxLargeMagazines = 1;

    /// <summary>Keeps a full magazine if there is room (below <paramref name="limit"/>, and below
    /// <see cref="MaxLargeMagazines"/> for a magazine of a class above 2 KiB); false means the caller must flush it.</summary>
    public bool TryPutFull(Magazine* m, int limit = MaxMagazines) =>
        TryPush(ref Full, ref FullCount, m, m->Capacity < Magazine.SmallCapacity ? Math.Min(limit, MaxLargeMagazines) : limit);

    /// <summary>Keeps an empty magazine if there is room (below <paramref name="limit"/>); false means the caller destroys it.</summary>
    public bool TryPutEmpty(Magazine* m, int limit = MaxMagazines) => TryPush(ref Empty, ref EmptyCount, m, limit);

    private static Magazine* Pop(ref Magazine* head, ref int count)
    {
        Magazine* m = head;
        if (m == null) return null;
        head = m->Next;
        count--;
        return m;
    }

    private static bool TryPush(ref Magazine* head, ref int count, Magazine* m, int limit)
    {
        if (count >= limit) return false;
        m->Next = head;
        head = m;
        count++;
        return true;
    }
}
