namespace BuddySlab.Slab;

/// <summary>
/// One CPU's cache of small page runs (1 to <see cref="MaxPages"/> pages), after Linux's per-CPU page lists:
/// slab refills and small page allocations take a run from here, and emptied slabs and small page frees put
/// theirs back, under the CPU's lock instead of the buddy lock. Runs stay allocated in the buddy (their head
/// record says cached, so a second free of a cached run is refused), are linked through
/// their first word, and are bounded per length so at most about 64 pages wait here per CPU.
/// </summary>
internal sealed unsafe class PageRunCache
{
    public const int MaxPages = 8;

    private readonly nuint[] _heads = new nuint[MaxPages + 1];
    private readonly int[] _counts = new int[MaxPages + 1];

    /// <summary>Runs of <paramref name="pages"/> pages kept at most.</summary>
    public static int Limit(int pages) => Math.Max(2, 16 / pages);

    /// <summary>A cached run of exactly <paramref name="pages"/> pages, or 0.</summary>
    public nuint Take(int pages)
    {
        nuint run = _heads[pages];
        if (run == 0) return 0;
        _heads[pages] = *(nuint*)run;
        _counts[pages]--;
        return run;
    }

    /// <summary>Keeps a run if there is room for its length.</summary>
    public bool TryPut(nuint run, int pages)
    {
        if (_counts[pages] >= Limit(pages)) return false;
        *(nuint*)run = _heads[pages];
        _heads[pages] = run;
        _counts[pages]++;
        return true;
    }
}
