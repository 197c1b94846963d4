namespace BuddySlab.Slab;

/// <summary>
/// One CPU's cache of small page runs (1 to <see cref="MaxPages"/> pages), after Linux's per-CPU page lists:
/// slab refills and small page allocations take a run from here, and emptied slabs and small page frees put
/// theirs back, under the CPU's lock instead of the buddy lock. Runs stay allocated in the buddy (their head
/// record says cached, so a second free of a cached run is refused).
/// <para>Invariants: each length has its own ring of at most <see cref="Capacity"/> addresses, kept in a managed
/// array so a cached run's memory is never read or written here. <see cref="Take"/> answers the newest run (the one
/// most likely still in the CPU's caches); <see cref="Put"/> into a full ring keeps the new run and hands back the
/// oldest for the buddy. Each length holds at most <see cref="BudgetBytes"/> (and at least 2 runs), so a CPU parks
/// at most 16 × 256 KiB with 4 KiB pages.</para>
/// </summary>
internal sealed class PageRunCache
{
    public const int MaxPages = 16;

    /// <summary>Bytes of runs kept per length: enough that a random mix of lengths rarely misses (a length's count is
    /// a random walk between empty and full, so a ring of n runs misses about once in n + 1 takes).</summary>
    public const int BudgetBytes = 256 << 10;

    private const int MaxRunsPerLength = 64;

    private readonly nuint[] _slots;        // ring of length p at [_offsets[p], _offsets[p] + _capacity[p])
    private readonly int[] _offsets = new int[MaxPages + 1];
    private readonly int[] _capacity = new int[MaxPages + 1];
    private readonly int[] _oldest = new int[MaxPages + 1];   // index within the ring of its oldest run
    private readonly int[] _counts = new int[MaxPages + 1];

    public PageRunCache(int pageSize)
    {
        int total = 0;
        for (int p = 1; p <= MaxPages; p++)
        {
            _offsets[p] = total;
            _capacity[p] = Capacity(p, pageSize);
            total += _capacity[p];
        }
        _slots = new nuint[total];
    }

    /// <summary>Runs of <paramref name="pages"/> pages kept at most.</summary>
    public static int Capacity(int pages, int pageSize) => Math.Clamp(BudgetBytes / (pages * pageSize), 2, MaxRunsPerLength);

    /// <summary>Runs of <paramref name="pages"/> pages now cached.</summary>
    public int Count(int pages) => _counts[pages];

    /// <summary>The newest cached run of exactly <paramref name="pages"/> pages, or 0.</summary>
    public nuint Take(int pages)
    {
        int n = _counts[pages] - 1;
        if (n < 0) return 0;
        _counts[pages] = n;
        return _slots[_offsets[pages] + Slot(pages, n)];
    }

    /// <summary>Keeps a run as the newest of its length; answers the oldest run it displaced from a full ring
    /// (for the buddy), or 0.</summary>
    public nuint Put(nuint run, int pages)
    {
        int n = _counts[pages], offset = _offsets[pages];
        if (n == _capacity[pages])
        {
            // Full: the oldest leaves, the new run takes its slot as the newest.
            int oldest = _oldest[pages];
            nuint evicted = _slots[offset + oldest];
            _slots[offset + oldest] = run;
            _oldest[pages] = oldest + 1 == n ? 0 : oldest + 1;
            return evicted;
        }
        _slots[offset + Slot(pages, n)] = run;
        _counts[pages] = n + 1;
        return 0;
    }

    /// <summary>The ring index of the run <paramref name="age"/> places after the oldest.</summary>
    private int Slot(int pages, int age)
    {
        int i = _oldest[pages] + age, capacity = _capacity[pages];
        return i >= capacity ? i - capacity : i;
    }
}
