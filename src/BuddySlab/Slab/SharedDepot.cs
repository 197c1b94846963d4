using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// The depot all CPUs share, one shelf per size class (the depot layer of Bonwick and Adams, behind the per-CPU
/// depots): full magazines a CPU's depot had no room for wait here for a thread, on any CPU, whose magazines ran
/// dry. A thread that only frees (a consumer) and one that only allocates (its producer) thus trade whole
/// magazines, one locked step per magazine, instead of every object going back to its slab and being drained again.
/// <para><b>Invariants.</b> Each shelf holds at most <see cref="Limit"/> empty magazines and a bounded number of full
/// ones; beyond that the caller flushes to the slabs. Without reaping the full bound is <see cref="Limit"/> too, so a
/// thread that frees far more than it allocates strands little here until <c>Trim</c>. With reaping (the native heap's
/// purge passes) a shelf may hold up to <see cref="ReapedBytesPerClass"/> of objects, and each pass flushes the full
/// magazines that no thread took since the previous pass (Bonwick's working-set reaping: the lowest count the shelf
/// fell to in the interval is what nobody needed). A shelf's lock is never held while any other lock is taken, nor
/// taken under one. <see cref="FullCount"/> is read without the lock as a hint only.</para>
/// </summary>
internal sealed unsafe class SharedDepot
{
    /// <summary>Bytes of objects a shelf may hold in full magazines while reaping is on; held at most one or two purge
    /// intervals when nobody takes them. Each cached object also costs its 8-byte slot in a magazine. Against 1 MiB,
    /// 8 MiB took batch-mixed-1m from 156 to 140 ns an object (through a ThreadHeap) for resident growth over live
    /// bytes of 1.14 instead of 1.13; 64 MiB gained only a few ns more.</summary>
    public const int ReapedBytesPerClass = 8 << 20;

    private readonly Shelf[] _shelves;
    private readonly int[] _reapedLimits;   // per class: full magazines allowed while reaping
    private volatile bool _reaping;

    public SharedDepot(SizeClassTable table, int cpus)
    {
        int classes = table.Classes.Length;
        _shelves = new Shelf[classes];
        Limit = Math.Max(MagazineDepot.MaxMagazines, cpus);
        _reapedLimits = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            int size = table.Classes[c].ObjectSize;
            _reapedLimits[c] = Math.Max(Limit, ReapedBytesPerClass / (Magazine.CapacityFor(size) * size));
        }
    }

    /// <summary>Empty magazines a shelf keeps at most, and full ones while reaping is off.</summary>
    public int Limit { get; }

    /// <summary>Whether someone calls <see cref="Reap"/> regularly: then a shelf may hold many more full magazines.</summary>
    public bool Reaping { get => _reaping; set => _reaping = value; }

    private int FullLimit(int cls) => _reaping ? _reapedLimits[cls] : Limit;

    /// <summary>Full magazines on the shelf of <paramref name="cls"/>, read without the lock: a hint.</summary>
    public int FullCount(int cls) => Volatile.Read(ref _shelves[cls].Depot.FullCount);

    /// <summary>Shelves <paramref name="full"/> if there is room, handing back an empty magazine in exchange when the
    /// shelf has one (else null: the caller makes one). False: no room, the caller keeps <paramref name="full"/>.</summary>
    public bool TryPutFull(int cls, Magazine* full, out Magazine* empty)
    {
        ref Shelf shelf = ref _shelves[cls];
        empty = null;
        shelf.Lock.Enter();
        bool kept = shelf.Depot.TryPutFull(full, FullLimit(cls));
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
        if (shelf.Depot.FullCount < shelf.LowWater) shelf.LowWater = shelf.Depot.FullCount;
        shelf.Lock.Exit();
        return full;
    }

    /// <summary>Every magazine on the shelf of <paramref name="cls"/>, full ones first in the chain, with the count of
    /// full ones; the shelf is left empty (for Trim and disposal).</summary>
    public Magazine* TakeAll(int cls, out int fullCount) => Detach(cls, all: true, out fullCount);

    /// <summary>One reaping step for the shelf of <paramref name="cls"/>: takes off the full magazines no thread needed since
    /// the previous step (as many as the lowest count the shelf fell to meanwhile) and starts the next interval.
    /// Answers them as a chain, with their count, for the caller to flush.</summary>
    public Magazine* Reap(int cls, out int count) => Detach(cls, all: false, out count);

    /// <summary>Takes off the shelf, as one chain with the full magazines first, either everything (empties included)
    /// or the full magazines no thread needed since the previous step; either way the next interval starts here.</summary>
    private Magazine* Detach(int cls, bool all, out int fullCount)
    {
        ref Shelf shelf = ref _shelves[cls];
        Magazine* chain = null;
        fullCount = 0;
        shelf.Lock.Enter();
        if (all)
            for (Magazine* m; (m = shelf.Depot.TakeEmpty()) != null;) { m->Next = chain; chain = m; }
        int take = all ? int.MaxValue : Math.Min(shelf.LowWater, shelf.Depot.FullCount);
        for (Magazine* m; fullCount < take && (m = shelf.Depot.TakeFull()) != null; fullCount++) { m->Next = chain; chain = m; }
        shelf.LowWater = shelf.Depot.FullCount;
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
        public int LowWater;            // the fewest full magazines since the last reaping step
    }
}
