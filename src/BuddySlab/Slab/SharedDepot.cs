using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// The depot all CPUs share, one shelf per size class (the depot layer of Bonwick and Adams, behind the per-CPU
/// depots): full magazines a CPU's depot had no room for wait here for a thread, on any CPU, whose magazines ran
/// dry. A thread that only frees (a consumer) and one that only allocates (its producer) thus trade whole
/// magazines, one locked step per magazine, instead of every object going back to its slab and being drained again.
/// <para>Empty magazines are kept per CPU: a thread parking a full magazine takes back an empty one its own CPU left,
/// never one whose slots another core just read (between a producer and a consumer on two cores such a handover cost
/// more than a new magazine).</para>
/// <para><b>Invariants.</b> Each shelf holds a bounded number of full and of empty magazines; beyond that the caller
/// flushes a full one to the slabs and frees an empty one. Without reaping both bounds are <see cref="Limit"/>, so a
/// thread that frees far more than it allocates strands little here until <c>Trim</c>. With reaping (the native heap's
/// purge passes) a shelf may hold up to <see cref="ReapedBytesPerClass"/> of objects, and as many empty magazines (up
/// to <see cref="ReapedEmptyBytesPerClass"/> of them) for the frees that will fill those again; each pass flushes the
/// full magazines and frees the empty ones that no thread took since the previous pass (Bonwick's working-set reaping:
/// the lowest count the shelf fell to in the interval is what nobody needed). A shelf's lock is never held while any other lock is taken, nor
/// taken under one. <see cref="FullCount"/> is read without the lock as a hint only.</para>
/// </summary>
internal sealed unsafe class SharedDepot
{
    /// <summary>Bytes of objects a shelf may hold in full magazines while reaping is on; held at most one or two purge
    /// intervals when nobody takes them. Each cached object also costs its 8-byte slot in a magazine. Against 1 MiB,
    /// 8 MiB took batch-mixed-1m from 156 to 140 ns an object (through a ThreadHeap) for resident growth over live
    /// bytes of 1.14 instead of 1.13; 64 MiB gained only a few ns more.</summary>
    public const int ReapedBytesPerClass = 8 << 20;

    /// <summary>Bytes of empty magazines a shelf may keep while reaping is on. A program that frees a large batch parks a
    /// full magazine here per 16 KiB or so of objects and takes an empty one back each time; without a stock of empties
    /// every such exchange freed and allocated a magazine with the system allocator (batch-mixed-100k through a
    /// ThreadHeap: 51 -> 47 ns an object).</summary>
    public const int ReapedEmptyBytesPerClass = 1 << 20;

    private readonly Shelf[] _shelves;
    private readonly int[] _reapedLimits;   // per class: full magazines allowed while reaping
    private readonly int[] _reapedEmptyLimits;   // per class: empty magazines allowed while reaping
    private readonly int _cpus;
    private readonly nint[] _empties;       // per class and CPU (index cls * _cpus + cpu): empty magazines linked by Next
    private volatile bool _reaping;

    public SharedDepot(SizeClassTable table, int cpus)
    {
        int classes = table.Classes.Length;
        _shelves = new Shelf[classes];
        Limit = Math.Max(MagazineDepot.MaxMagazines, cpus);
        _cpus = cpus;
        _empties = new nint[classes * cpus];
        _reapedLimits = new int[classes];
        _reapedEmptyLimits = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            int size = table.Classes[c].ObjectSize;
            int capacity = Magazine.CapacityFor(size);
            _reapedLimits[c] = Math.Max(Limit, ReapedBytesPerClass / (capacity * size));
            _reapedEmptyLimits[c] = Math.Clamp(ReapedEmptyBytesPerClass / Magazine.BytesFor(capacity), Limit, _reapedLimits[c]);
        }
    }

    /// <summary>Empty magazines a shelf keeps at most, and full ones while reaping is off.</summary>
    public int Limit { get; }

    /// <summary>Whether someone calls <see cref="Reap"/> regularly: then a shelf may hold many more full magazines.</summary>
    public bool Reaping { get => _reaping; set => _reaping = value; }

    private int FullLimit(int cls) => _reaping ? _reapedLimits[cls] : Limit;

    private int EmptyLimit(int cls) => _reaping ? _reapedEmptyLimits[cls] : Limit;

    /// <summary>Full magazines on the shelf of <paramref name="cls"/>, read without the lock: a hint.</summary>
    public int FullCount(int cls) => Volatile.Read(ref _shelves[cls].Depot.FullCount);

    /// <summary>Shelves <paramref name="full"/> if there is room, handing back an empty magazine that <paramref name="cpu"/>
    /// left in exchange when there is one (else null: the caller makes one). False: no room, the caller keeps
    /// <paramref name="full"/>.</summary>
    public bool TryPutFull(int cls, Magazine* full, int cpu, out Magazine* empty)
    {
        ref Shelf shelf = ref _shelves[cls];
        empty = null;
        shelf.Lock.Enter();
        bool kept = shelf.Depot.TryPutFull(full, FullLimit(cls));
        if (kept)
        {
            empty = PopEmpty(ref shelf, cls, (uint)cpu % (uint)_cpus);
            if (shelf.EmptyCount < shelf.EmptyLowWater) shelf.EmptyLowWater = shelf.EmptyCount;
        }
        shelf.Lock.Exit();
        return kept;
    }

    /// <summary>A full magazine for <paramref name="empty"/> (kept on the shelf for <paramref name="cpu"/>, or given back
    /// through <paramref name="surplus"/> when the shelf has enough empties); null when the shelf has none.</summary>
    public Magazine* TakeFull(int cls, Magazine* empty, int cpu, out Magazine* surplus)
    {
        ref Shelf shelf = ref _shelves[cls];
        surplus = null;
        shelf.Lock.Enter();
        Magazine* full = shelf.Depot.TakeFull();
        if (full != null)
        {
            if (shelf.EmptyCount < EmptyLimit(cls)) PushEmpty(ref shelf, cls, (uint)cpu % (uint)_cpus, empty);
            else surplus = empty;
        }
        if (shelf.Depot.FullCount < shelf.LowWater) shelf.LowWater = shelf.Depot.FullCount;
        shelf.Lock.Exit();
        return full;
    }

    private Magazine* PopEmpty(ref Shelf shelf, int cls, uint cpu)
    {
        ref nint head = ref _empties[cls * _cpus + (int)cpu];
        var m = (Magazine*)head;
        if (m == null) return null;
        head = (nint)m->Next;
        shelf.EmptyCount--;
        return m;
    }

    private void PushEmpty(ref Shelf shelf, int cls, uint cpu, Magazine* m)
    {
        ref nint head = ref _empties[cls * _cpus + (int)cpu];
        m->Next = (Magazine*)head;
        head = (nint)m;
        shelf.EmptyCount++;
    }

    /// <summary>Every magazine on the shelf of <paramref name="cls"/>, full ones first in the chain, with the count of
    /// full ones; the shelf is left empty (for Trim and disposal).</summary>
    public Magazine* TakeAll(int cls, out int fullCount) => Detach(cls, all: true, out fullCount);

    /// <summary>One reaping step for the shelf of <paramref name="cls"/>: takes off the full and the empty magazines no thread
    /// needed since the previous step (as many as the lowest count of each the shelf fell to meanwhile) and starts the
    /// next interval. Answers them as one chain, full ones first, with the count of full ones, for the caller to flush
    /// and free.</summary>
    public Magazine* Reap(int cls, out int count) => Detach(cls, all: false, out count);

    /// <summary>Takes off the shelf, as one chain with the full magazines first, either everything or the magazines no
    /// thread needed since the previous step; either way the next interval starts here.</summary>
    private Magazine* Detach(int cls, bool all, out int fullCount)
    {
        ref Shelf shelf = ref _shelves[cls];
        Magazine* chain = null;
        fullCount = 0;
        shelf.Lock.Enter();
        int takeEmpty = all ? shelf.EmptyCount : Math.Min(shelf.EmptyLowWater, shelf.EmptyCount);
        for (uint cpu = 0; cpu < (uint)_cpus && takeEmpty > 0; cpu++)
            for (Magazine* m; takeEmpty > 0 && (m = PopEmpty(ref shelf, cls, cpu)) != null; takeEmpty--) { m->Next = chain; chain = m; }
        shelf.EmptyLowWater = shelf.EmptyCount;
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
        public MagazineDepot Depot;     // its full list only: the shelf's empty magazines are kept per CPU (_empties)
        public int LowWater;            // the fewest full magazines since the last reaping step
        public int EmptyCount;          // empty magazines on the shelf, over every CPU's list
        public int EmptyLowWater;       // the fewest empty magazines since the last reaping step
    }
}
