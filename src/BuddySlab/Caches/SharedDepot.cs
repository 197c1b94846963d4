using System.Runtime.InteropServices;

using BuddySlab.Slab;

using BuddySlab.Os;

namespace BuddySlab.Caches;

/// <summary>
/// The depot all CPUs share, one shelf per size class (the depot layer of Bonwick and Adams, behind the per-CPU
/// depots): full magazines a CPU's depot had no room for wait here for a thread, on any CPU, whose magazines ran
/// dry. A thread that only frees (a consumer) and one that only allocates (its producer) thus trade whole
/// magazines, one locked step per magazine, instead of every object going back to its slab and being drained again.
/// <para>Empty magazines are kept per CPU: a thread parking a full magazine takes back an empty one its own CPU left,
/// never one whose slots another core just read (between a producer and a consumer on two cores such a handover cost
/// more than a new magazine).</para>
/// <para><b>Invariants.</b> Each shelf holds a bounded number of full and of empty magazines; beyond that the caller
/// flushes a full one to the slabs and frees an empty one. Without purge passes both bounds are <see cref="Limit"/>, so
/// a thread that frees far more than it allocates strands little here until <c>Trim</c>. While purge passes run
/// (<see cref="Purging"/>, a native heap's clock) a shelf may hold up to <see cref="PurgingBytesPerClass"/> of objects,
/// and empty magazines up to <see cref="PurgingEmptyBytesPerClass"/> for the frees that will fill those again; each pass
/// takes off the full and the empty magazines that no thread needed since the previous pass (<see cref="TakeUnused"/>:
/// the lowest count the shelf fell to in the interval is what nobody needed, Bonwick's working-set reaping). A
/// shelf's lock is never held while any other lock is taken, nor taken under one. <see cref="FullCount"/> is read
/// without the lock as a hint only.</para>
/// </summary>
internal sealed unsafe class SharedDepot
{
    /// <summary>Bytes of objects a shelf may hold in full magazines while purge passes run; held at most one or two purge
    /// intervals when nobody takes them. Each cached object also costs its 8-byte slot in a magazine.</summary>
    public const int PurgingBytesPerClass = 8 << 20;

    /// <summary>Bytes of empty magazines a shelf may keep while purge passes run: a program that frees a large batch parks
    /// a full magazine here per 16 KiB or so of objects and takes an empty one back each time, which would otherwise be
    /// made and freed with the system allocator each time.</summary>
    public const int PurgingEmptyBytesPerClass = 1 << 20;

    private readonly Shelf[] _shelves;
    private readonly int[] _purgingLimits;   // per class: full magazines allowed while purging
    private readonly int[] _purgingEmptyLimits;   // per class: empty magazines allowed while purging
    private readonly int _cpus;
    private readonly nint[] _empties;       // per class and CPU (index cls * _cpus + cpu): empty magazines linked by Next
    private volatile bool _purging;
    private readonly CacheBudget? _budget;
    private readonly int[] _objectSizes;

    /// <summary>A depot for <paramref name="cpus"/> CPUs whose full magazines count against <paramref name="budget"/>
    /// (none: only the per-class limits bound it).</summary>
    public SharedDepot(SizeClassTable table, int cpus, CacheBudget? budget = null)
    {
        int classes = table.Classes.Length;
        _budget = budget;
        _objectSizes = new int[classes];
        for (int c = 0; c < classes; c++) _objectSizes[c] = table.Classes[c].ObjectSize;
        _shelves = new Shelf[classes];
        Limit = Math.Max(MagazineDepot.MaxMagazines, cpus);
        _cpus = cpus;
        _empties = new nint[classes * cpus];
        _purgingLimits = new int[classes];
        _purgingEmptyLimits = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            int size = table.Classes[c].ObjectSize;
            int capacity = Magazine.CapacityFor(size);
            _purgingLimits[c] = Math.Max(Limit, PurgingBytesPerClass / (capacity * size));
            _purgingEmptyLimits[c] = Math.Clamp(PurgingEmptyBytesPerClass / Magazine.BytesFor(capacity), Limit, _purgingLimits[c]);
        }
    }

    /// <summary>Empty magazines a shelf keeps at most, and full ones while purging is off.</summary>
    public int Limit { get; }

    /// <summary>Whether someone calls <see cref="TakeUnused"/> regularly (purge passes): then a shelf may hold many more full magazines.</summary>
    public bool Purging { get => _purging; set => _purging = value; }

    private int FullLimit(int cls) => _purging ? _purgingLimits[cls] : Limit;

    private int EmptyLimit(int cls) => _purging ? _purgingEmptyLimits[cls] : Limit;

    /// <summary>Full magazines on the shelf of <paramref name="cls"/>, read without the lock: a hint.</summary>
    public int FullCount(int cls) => Volatile.Read(ref _shelves[cls].Depot.FullCount);

    /// <summary>Shelves <paramref name="full"/> if there is room, handing back an empty magazine that <paramref name="cpu"/>
    /// left in exchange when there is one (else null: the caller makes one). False: no room, the caller keeps
    /// <paramref name="full"/>.</summary>
    public bool TryPutFull(int cls, Magazine* full, int cpu, out Magazine* empty)
    {
        ref Shelf shelf = ref _shelves[cls];
        empty = null;
        long bytes = BytesOf(cls, full);
        if (_budget is not null && !_budget.TryHold(bytes)) return false;
        shelf.Lock.Enter();
        bool kept = shelf.Depot.TryPutFull(full, FullLimit(cls));
        if (!kept) _budget?.Release(bytes);
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
            _budget?.Release(BytesOf(cls, full));
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

    /// <summary>One purge step for the shelf of <paramref name="cls"/>: takes off the full and the empty magazines no thread
    /// needed since the previous step (as many as the lowest count of each the shelf fell to meanwhile) and starts the
    /// next interval. Answers them as one chain, full ones first, with the count of full ones, for the caller to flush
    /// and free.</summary>
    public Magazine* TakeUnused(int cls, out int count) => Detach(cls, all: false, out count);

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
        for (Magazine* m; fullCount < take && (m = shelf.Depot.TakeFull()) != null; fullCount++)
        {
            _budget?.Release(BytesOf(cls, m));
            m->Next = chain;
            chain = m;
        }
        shelf.LowWater = shelf.Depot.FullCount;
        shelf.Lock.Exit();
        return chain;
    }

    /// <summary>Takes every shelf's lock, by class (before <c>fork</c>).</summary>
    public void LockAll()
    {
        for (int cls = 0; cls < _shelves.Length; cls++) _shelves[cls].Lock.Enter();
    }

    /// <summary>Lets go of every shelf's lock.</summary>
    public void UnlockAll()
    {
        for (int cls = _shelves.Length - 1; cls >= 0; cls--) _shelves[cls].Lock.Exit();
    }

    private long BytesOf(int cls, Magazine* m) => (long)m->Count * _objectSizes[cls];

    /// <summary>Bytes of objects in the full magazines on every shelf (under each shelf's lock in turn).</summary>
    public long CachedBytes
    {
        get
        {
            long bytes = 0;
            for (int cls = 0; cls < _shelves.Length; cls++)
            {
                ref Shelf shelf = ref _shelves[cls];
                shelf.Lock.Enter();
                for (Magazine* m = shelf.Depot.Full; m != null; m = m->Next) bytes += BytesOf(cls, m);
                shelf.Lock.Exit();
            }
            return bytes;
        }
    }

    /// <summary>True when <paramref name="address"/> sits in a full magazine on the shelf (a double-free check; cold).</summary>
    public bool Contains(int cls, nuint address, nuint mark)
    {
        ref Shelf shelf = ref _shelves[cls];
        bool found = false;
        shelf.Lock.Enter();
        for (Magazine* m = shelf.Depot.Full; m != null && !found; m = m->Next) found = Magazine.Contains(m, address, mark);
        shelf.Lock.Exit();
        return found;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Shelf
    {
        public BackoffLock Lock;
        public MagazineDepot Depot;     // its full list only: the shelf's empty magazines are kept per CPU (_empties)
        public int LowWater;            // the fewest full magazines since the last purge step
        public int EmptyCount;          // empty magazines on the shelf, over every CPU's list
        public int EmptyLowWater;       // the fewest empty magazines since the last purge step
    }
}
