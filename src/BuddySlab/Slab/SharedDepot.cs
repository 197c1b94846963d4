using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// The depot all CPUs share, one shelf per size class (the depot layer of Bonwick and Adams, behind the per-CPU
/// depots): full magazines a CPU's depot had no room for wait here for a thread, on any CPU, whose magazines ran
/// dry. A thread that only frees (a consumer) and one that only allocates (its producer) thus trade whole
/// magazines, one locked step per magazine, instead of every object going back to its slab and being drained again.
/// <para><b>Invariants.</b> Each shelf holds at most <see cref="Limit"/> full and <see cref="Limit"/> empty magazines,
/// so a thread that frees far more than it allocates strands at most that much here until <c>Trim</c>; beyond it the
/// caller flushes to the slabs. A shelf's lock is never held while any other lock is taken, nor taken under one.
/// <see cref="FullCount"/> is read without the lock as a hint only.</para>
/// </summary>
internal sealed unsafe class SharedDepot
{
    private readonly Shelf[] _shelves;

    public SharedDepot(int classes, int cpus)
    {
        _shelves = new Shelf[classes];
        Limit = Math.Max(MagazineDepot.MaxMagazines, cpus);
    }

    /// <summary>Full (and, separately, empty) magazines a shelf keeps at most.</summary>
    public int Limit { get; }

    /// <summary>Full magazines on the shelf of <paramref name="cls"/>, read without the lock: a hint.</summary>
    public int FullCount(int cls) => Volatile.Read(ref _shelves[cls].Depot.FullCount);

    /// <summary>Shelves <paramref name="full"/> if there is room, handing back an empty magazine in exchange when the
    /// shelf has one (else null: the caller makes one). False: no room, the caller keeps <paramref name="full"/>.</summary>
    public bool TryPutFull(int cls, Magazine* full, out Magazine* empty)
    {
        ref Shelf shelf = ref _shelves[cls];
        empty = null;
        shelf.Lock.Enter();
        bool kept = shelf.Depot.TryPutFull(full, Limit);
        if (kept) empty = shelf.Depot.TakeEmpty();
        shelf.Lock.Exit();
        return kept;
    }

    /// <summary>A full magazine for <paramref name="empty"/> (kept on the shelf, or given back through
    /// <paramref name="surplus"/> when the shelf has enough empties); null when the shelf has none.</summary>
    public Magazine* TakeFull(int cls, Magazine* empty, out Magazine* surplus)
    {
        ref Shelf shelf = ref _shelves[cls];
        surplus = null;
        shelf.Lock.Enter();
        Magazine* full = shelf.Depot.TakeFull();
        if (full != null && !shelf.Depot.TryPutEmpty(empty, Limit)) surplus = empty;
        shelf.Lock.Exit();
        return full;
    }

    /// <summary>Every magazine on the shelf of <paramref name="cls"/>, full ones first in the chain, with the count of
    /// full ones; the shelf is left empty (for Trim and disposal).</summary>
    public Magazine* TakeAll(int cls, out int fullCount)
    {
        ref Shelf shelf = ref _shelves[cls];
        Magazine* chain = null;
        fullCount = 0;
        shelf.Lock.Enter();
        for (Magazine* m; (m = shelf.Depot.TakeEmpty()) != null;) { m->Next = chain; chain = m; }
        for (Magazine* m; (m = shelf.Depot.TakeFull()) != null; fullCount++) { m->Next = chain; chain = m; }
        shelf.Lock.Exit();
        return chain;
    }

    /// <summary>True when <paramref name="address"/> sits in a full magazine on the shelf (a double-free check; cold).</summary>
    public bool Contains(int cls, nuint address)
    {
        ref Shelf shelf = ref _shelves[cls];
        bool found = false;
        shelf.Lock.Enter();
        for (Magazine* m = shelf.Depot.Full; m != null && !found; m = m->Next) found = Magazine.Contains(m, address);
        shelf.Lock.Exit();
        return found;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Shelf
    {
        public BackoffLock Lock;
        public MagazineDepot Depot;
    }
}
