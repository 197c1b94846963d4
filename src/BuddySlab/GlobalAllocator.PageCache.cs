using BuddySlab.Buddy;
using BuddySlab.Slab;

namespace BuddySlab;

// The per-CPU caches of small page runs: runs of 1 to 8 pages go from frees and emptied slabs to the caller's CPU
// cache and back out to slab refills and small page allocations, under the CPU lock instead of the buddy lock.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>A run of <paramref name="count"/> pages from the CPU's cache, marked <paramref name="flags"/>; false on a miss.</summary>
    private bool TryTakeCachedRun(nuint count, nuint alignment, PageFlags flags, out nuint address)
    {
        address = 0;
        if (count > PageRunCache.MaxPages) return false;
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        nuint run = cache.Pages.Take((int)count);
        if (run != 0 && run % alignment != 0)
        {
            cache.Pages.TryPut(run, (int)count);   // cached runs are aligned to their block; this request wants more
            run = 0;
        }
        cache.Lock.Exit();
        if (run == 0) return false;
        _buddy.RunHeadRecord(run)->Flags = flags;
        address = run;
        return true;
    }

    /// <summary>Parks a live run of <paramref name="count"/> pages in the CPU's cache when it is small and there is room.
    /// The caller has checked that the run is live with this length.</summary>
    private bool TryCacheRun(PageRecord* head, nuint address, nuint count)
    {
        if (count > PageRunCache.MaxPages) return false;
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        bool kept = cache.Pages.TryPut(address, (int)count);
        if (kept) head->Flags = RunStates.Cached;
        cache.Lock.Exit();
        return kept;
    }

    /// <summary>Gives every cached run back to the buddy (for <see cref="Trim"/>).</summary>
    private void DrainPageCaches()
    {
        foreach (CpuCache cache in _cpus)
        {
            nuint chain = 0;
            cache.Lock.Enter();
            for (int pages = 1; pages <= PageRunCache.MaxPages; pages++)
            {
                for (nuint run; (run = cache.Pages.Take(pages)) != 0;)
                {
                    ((nuint*)run)[0] = chain;
                    ((nuint*)run)[1] = (nuint)pages;
                    chain = run;
                }
            }
            cache.Lock.Exit();
            if (chain == 0) continue;
            _buddyLock.Enter();
            try
            {
                while (chain != 0)
                {
                    nuint next = ((nuint*)chain)[0];
                    _buddy.FreePages(chain, ((nuint*)chain)[1]);
                    chain = next;
                }
            }
            finally { _buddyLock.Exit(); }
        }
    }
}
