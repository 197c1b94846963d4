namespace BuddySlab.Caches;

/// <summary>
/// One CPU's cache of small page runs (1 to <see cref="MaxPages"/> pages), after Linux's per-CPU page lists:
/// slab refills and small page allocations take a run from here, and emptied slabs and small page frees put
/// theirs back, under the CPU's lock instead of the buddy lock. Runs stay allocated in the buddy (their head
/// record says cached, so a second free of a cached run is refused).
/// <para>Invariants: each length has its own ring, kept in a managed array so a cached run's memory is never read or
/// written here. <see cref="Take"/> answers the newest run (the one most likely still in the CPU's caches);
/// <see cref="Put"/> beyond the length's limit keeps the new run and hands back the oldest for the buddy (it is
/// displaced). A length holds at most <see cref="BudgetBytes"/> of runs (at least 2, at most 64 runs), so a CPU caches
/// at most 16 × 256 KiB with 4 KiB pages; while purge passes run (<see cref="Purging"/>) the budget is
/// <see cref="PurgingBudgetBytes"/> (up to 2,048 runs), and each pass takes back what the length did not need since
/// the previous one (<see cref="TakeUnused"/>).</para>
/// </summary>
internal sealed class PageRunCache
{
    public const int MaxPages = 16;

    /// <summary>Bytes of runs kept per length: enough that a random mix of lengths rarely misses (a length's count is
    /// a random walk between empty and full, so a ring of n runs misses about once in n + 1 takes).</summary>
    public const int BudgetBytes = 256 << 10;

    /// <summary>Bytes of runs kept per length while purge passes run: a run that misses the cache costs a buddy split and
    /// later a merge under the buddy lock, several times a cached run; the passes bound how long it is held.</summary>
    public const int PurgingBudgetBytes = 8 << 20;

    private const int MaxRunsPerLength = 64, MaxPurgingRunsPerLength = 2048;

    private readonly int _pageSize;
    private readonly nuint[] _slots;        // ring of length p at [_offsets[p], _offsets[p] + _ring[p])
    private readonly int[] _offsets = new int[MaxPages + 1];
    private readonly int[] _ring = new int[MaxPages + 1];       // physical ring size: the larger budget's
    private readonly int[] _limit = new int[MaxPages + 1];      // runs kept at most under the budget in force
    private readonly int[] _oldest = new int[MaxPages + 1];     // index within the ring of its oldest run
    private readonly int[] _counts = new int[MaxPages + 1];
    private readonly int[] _lowWater = new int[MaxPages + 1];   // fewest runs held since the last purge step
    private bool _purging;
    private readonly CacheBudget? _budget;

    /// <summary>A cache for pages of <paramref name="pageSize"/> bytes whose runs count against <paramref name="budget"/>
    /// (none: only the per-length limits bound it).</summary>
    public PageRunCache(int pageSize, CacheBudget? budget = null)
    {
        _pageSize = pageSize;
        _budget = budget;
        int total = 0;
        for (int p = 1; p <= MaxPages; p++)
        {
            _offsets[p] = total;
            _ring[p] = Math.Max(Capacity(p, pageSize, purging: false), Capacity(p, pageSize, purging: true));
            _limit[p] = Capacity(p, pageSize, purging: false);
            total += _ring[p];
        }
        _slots = new nuint[total];
    }

    /// <summary>Runs of <paramref name="pages"/> pages kept at most, without purge passes.</summary>
    public static int Capacity(int pages, int pageSize) => Capacity(pages, pageSize, purging: false);

    /// <summary>Runs of <paramref name="pages"/> pages kept at most, with or without purge passes.</summary>
    public static int Capacity(int pages, int pageSize, bool purging) => purging
        ? Math.Clamp(PurgingBudgetBytes / (pages * pageSize), 2, MaxPurgingRunsPerLength)
        : Math.Clamp(BudgetBytes / (pages * pageSize), 2, MaxRunsPerLength);

    /// <summary>Whether purge passes call <see cref="TakeUnused"/>: then each length may hold the larger budget. Turning it off
    /// leaves runs beyond the smaller limit in place; the next puts of their length hand them back one by one.</summary>
    public bool Purging
    {
        get => _purging;
        set
        {
            _purging = value;
            for (int p = 1; p <= MaxPages; p++) _limit[p] = Capacity(p, _pageSize, value);
        }
    }

    /// <summary>Runs of <paramref name="pages"/> pages now cached.</summary>
    public int Count(int pages) => _counts[pages];

    /// <summary>Runs of <paramref name="pages"/> pages kept at most under the budget in force.</summary>
    public int Limit(int pages) => _limit[pages];

    /// <summary>The newest cached run of exactly <paramref name="pages"/> pages, or 0.</summary>
    public nuint Take(int pages) => TakeAligned(pages, 1);

    /// <summary>The newest cached run of exactly <paramref name="pages"/> pages when it is aligned to
    /// <paramref name="alignment"/>, or 0 (and the run stays).</summary>
    public nuint TakeAligned(int pages, nuint alignment)
    {
        int n = _counts[pages] - 1;
        if (n < 0) return 0;
        nuint run = _slots[_offsets[pages] + Slot(pages, n)];
        if ((run & (alignment - 1)) != 0) return 0;
        _counts[pages] = n;
        if (n < _lowWater[pages]) _lowWater[pages] = n;
        _budget?.Release(RunBytes(pages));
        return run;
    }

    /// <summary>Keeps a run as the newest of its length; answers the run to give the buddy instead, or 0: the oldest
    /// one, displaced from a full ring, or this one itself when the budget has no room for it.</summary>
    public nuint Put(nuint run, int pages)
    {
        nuint evicted = 0;
        if (_counts[pages] >= _limit[pages])
        {
            evicted = TakeOldest(pages);
            _budget?.Hold(RunBytes(pages));                     // the same bytes again, for the run kept instead
        }
        else if (_budget is not null && !_budget.TryHold(RunBytes(pages)))
        {
            return run;
        }
        int n = _counts[pages];
        _slots[_offsets[pages] + Slot(pages, n)] = run;
        _counts[pages] = n + 1;
        return evicted;
    }

    /// <summary>Runs of <paramref name="pages"/> pages that stayed in the cache since the previous purge step (the fewest it
    /// held meanwhile); <see cref="TakeUnused"/> takes them out oldest first, and a new interval begins.</summary>
    public int TakeUnused(int pages, Span<nuint> taken)
    {
        int n = Math.Min(_lowWater[pages], taken.Length);
        for (int i = 0; i < n; i++) taken[i] = TakeOldest(pages);
        _lowWater[pages] = _counts[pages];
        return n;
    }

    /// <summary>Removes and answers the oldest run of a non-empty length.</summary>
    private nuint TakeOldest(int pages)
    {
        int oldest = _oldest[pages];
        nuint run = _slots[_offsets[pages] + oldest];
        _oldest[pages] = oldest + 1 == _ring[pages] ? 0 : oldest + 1;
        _counts[pages]--;
        if (_counts[pages] < _lowWater[pages]) _lowWater[pages] = _counts[pages];
        _budget?.Release(RunBytes(pages));
        return run;
    }

    /// <summary>Bytes of cached runs, over every length.</summary>
    public long CachedBytes
    {
        get
        {
            long bytes = 0;
            for (int p = 1; p <= MaxPages; p++) bytes += _counts[p] * RunBytes(p);
            return bytes;
        }
    }

    private long RunBytes(int pages) => (long)pages * _pageSize;

    /// <summary>The ring index of the run <paramref name="age"/> places after the oldest.</summary>
    private int Slot(int pages, int age)
    {
        int i = _oldest[pages] + age, ring = _ring[pages];
        return i >= ring ? i - ring : i;
    }
}
