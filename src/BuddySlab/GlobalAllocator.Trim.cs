using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;

namespace BuddySlab;

// Giving memory back (the verbs are defined in docs/design.md): Trim flushes every cache down to the buddy and releases
// free memory to the system at once; a purge pass, on the clock, flushes what each cache held unused for a whole
// interval and releases what stayed free. FlushAllCaches is also what a request does before it fails for want of memory.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>Flushes every cache above the buddy that this thread may touch (see <see cref="FlushAllCaches"/>), then
    /// releases to the system every free block of 16 pages or more and every added region that holds nothing.</summary>
    public void Trim()
    {
        EnsureReady();
        FlushAllCaches();
        _pages.ReleaseFreeMemory(now: true);
    }

    /// <summary>Gives the buddy everything cached above it: this thread's magazines and run stacks, the orphans', every
    /// depot, cached empty slabs, drained remote frees and the CPUs' page runs. For <see cref="Trim"/>, and when a
    /// request finds the buddy empty and no growth possible. Takes every lock in turn; the caller holds none.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FlushAllCaches()
    {
        FlushDepots();
        foreach (CpuCache cache in _cpus)
        {
            cache.Lock.Enter();
            cache.Slabs.Trim();
            ExitCpu(cache);
        }
        FlushPageCaches();
    }

    /// <summary>Empties the calling thread's magazines, the orphans' and every depot into the slabs.</summary>
    private void FlushDepots()
    {
        if (!_useThreadCaches) return;
        FlushThreadCache();
        AdoptOrphans();
        for (int cls = 0; cls < _table.Classes.Length; cls++)
        {
            Magazine* chain = _sharedDepot.TakeAll(cls, out int fullCount);
            if (chain != null) FlushChain(chain, fullCount, cls);
        }
        foreach (CpuCache cache in _cpus)
        {
            Magazine* chain = null;
            cache.Lock.Enter();
            for (int cls = 0; cls < cache.Depot.Length; cls++)
            {
                ref MagazineDepot depot = ref cache.Depot[cls];
                for (Magazine* m; (m = depot.TakeFull()) != null;) { FlushToSlabs(cache, m, cls); m->Next = chain; chain = m; }
                for (Magazine* m; (m = depot.TakeEmpty()) != null;) { m->Next = chain; chain = m; }
            }
            cache.Lock.Exit();
            Magazine.DestroyChain(chain);
        }
    }

    /// <summary>Flushes the first <paramref name="fullCount"/> magazines of a chain to the slabs (under the caller's CPU
    /// lock) and frees every magazine of it.</summary>
    private void FlushChain(Magazine* chain, int fullCount, int cls)
    {
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        int i = 0;
        for (Magazine* m = chain; i < fullCount; m = m->Next, i++) FlushToSlabs(cache, m, cls);
        ExitCpu(cache);
        Magazine.DestroyChain(chain);
    }

    /// <summary>Gives every run the CPUs' page caches hold back to the buddy.</summary>
    private void FlushPageCaches()
    {
        foreach (CpuCache cache in _cpus)
        {
            var chain = new RunChain();
            cache.Lock.Enter();
            for (int pages = 1; pages <= PageRunCache.MaxPages; pages++)
                for (nuint run; (run = cache.Pages.Take(pages)) != 0;) chain.Add(run, (nuint)pages);
            cache.Lock.Exit();
            FreeRuns(chain);
        }
    }

    // ---- purge passes ----

    /// <summary>How often, in milliseconds, a purge pass runs (see <see cref="PurgePass"/>); 0: never, only
    /// <see cref="Trim"/>. Set by the native heap. While passes run, the shared depot and the page-run caches may hold
    /// more, since the passes take back what they do not need.</summary>
    internal long PurgeIntervalMilliseconds
    {
        get => _pages.PurgeIntervalMilliseconds;
        set
        {
            _pages.PurgeIntervalMilliseconds = value;
            bool purging = _pages.PurgeIntervalMilliseconds > 0;
            _sharedDepot.Purging = purging;
            foreach (CpuCache cache in _cpus)
            {
                cache.Lock.Enter();
                cache.Pages.Purging = purging;
                cache.Lock.Exit();
            }
        }
    }

    /// <summary>Runs a purge pass when one is due. Called after page runs go back to the buddy and when a magazine is
    /// traded, so a heap that frees does this without a thread of its own; an idle heap waits for its next such call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PurgeIfDue()
    {
        if (_pages.IsPurgeDue) Purge();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Purge()
    {
        // One thread per interval runs the pass; the others go on.
        if (_pages.TryClaimPurge()) PurgePass();
    }

    /// <summary>One purge pass, whenever it is called (the clock is <see cref="Purge"/>'s business; tests call this): full
    /// magazines no thread took from the shared depot since the last pass go back to their slabs, page runs the CPU
    /// caches did not need go to the buddy, remote frees still waiting for their owner are drained, long-free page runs
    /// are released to the system and empty added regions are unmapped.</summary>
    internal void PurgePass()
    {
        // The next pass is an interval away, also when a test calls this by hand: the frees below must not start one.
        _pages.RestartPurgeClock();
        PurgeSharedDepot();
        PurgePageCaches();
        // Remote frees whose owner has not come back to their class: drained here, so their slabs can empty and go back.
        foreach (CpuCache cache in _cpus)
        {
            if (!cache.Slabs.HasPending) continue;
            cache.Lock.Enter();
            cache.Slabs.DrainAllPending();
            ExitCpu(cache);
        }
        _pages.ReleaseFreeMemory(now: false);
    }

    /// <summary>Flushes to the slabs the shared depot's full magazines that no thread needed since the previous pass.</summary>
    private void PurgeSharedDepot()
    {
        for (int cls = 0; cls < _table.Classes.Length; cls++)
        {
            Magazine* chain = _sharedDepot.TakeUnused(cls, out int count);
            if (chain != null) FlushChain(chain, count, cls);   // (empty magazines only, sometimes)
        }
    }

    /// <summary>Gives the buddy, from every CPU's cache, the runs of each length that no take needed since the previous
    /// pass (the fewest the length held meanwhile), oldest first.</summary>
    private void PurgePageCaches()
    {
        Span<nuint> taken = stackalloc nuint[PageRunCache.Capacity(1, _pageSize, purging: true)];
        foreach (CpuCache cache in _cpus)
        {
            var chain = new RunChain();
            cache.Lock.Enter();
            for (int pages = 1; pages <= PageRunCache.MaxPages; pages++)
            {
                int n = cache.Pages.TakeUnused(pages, taken);
                for (int i = 0; i < n; i++) chain.Add(taken[i], (nuint)pages);
            }
            cache.Lock.Exit();
            FreeRuns(chain);
        }
    }

    /// <summary>Once a purge interval, on one of the thread's own slow paths: the runs each of its stacks held all
    /// through the last interval go to the CPU's cache (whose passes purge them in turn), oldest first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PurgeThreadRunsIfDue(ThreadCacheBlock* tc)
    {
        if (_pages.PurgeIntervalMilliseconds > 0 && Environment.TickCount64 >= tc->NextRunPurge) PurgeThreadRuns(tc);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PurgeThreadRuns(ThreadCacheBlock* tc)
    {
        tc->NextRunPurge = Environment.TickCount64 + _pages.PurgeIntervalMilliseconds;
        for (int length = 1; length <= RunStack.MaxPages; length++)
        {
            RunStack* stack = tc->Runs + (length - 1);
            int unused = Math.Min(stack->LowWater, stack->Count);
            if (unused != 0) FlushRunsToCpu(stack, (nuint)length, unused);
            stack->LowWater = stack->Count;
        }
    }
}
