using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Slab;

namespace BuddySlab;

// The per-CPU caches of small page runs: runs of 1 to 16 pages go from frees and emptied slabs to the caller's CPU
// cache and back out to slab refills and small page allocations, under the CPU lock instead of the buddy lock. A free
// into a full ring keeps the freed (cache-hot) run and sends the ring's oldest to the buddy.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>A run of <paramref name="count"/> pages from the CPU's cache, marked allocated; false on a miss.</summary>
    private bool TryTakeCachedRun(nuint count, nuint alignment, out nuint address)
    {
        address = 0;
        // A bad alignment goes on to the buddy, which refuses it.
        if (count > PageRunCache.MaxPages || (alignment & (alignment - 1)) != 0 || alignment == 0) return false;
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        nuint run = cache.Pages.Take((int)count);
        if ((run & (alignment - 1)) != 0)
        {
            cache.Pages.Put(run, (int)count);   // cached runs are aligned to their block; this request wants more (it fits back)
            run = 0;
        }
        cache.Lock.Exit();
        if (run == 0) return false;
        RunHead(run)->Flags = PageFlags.Allocated;
        address = run;
        return true;
    }

    /// <summary>Parks a live run of at most <see cref="PageRunCache.MaxPages"/> pages in the CPU's cache, and gives the
    /// run it displaced, if any, to the buddy. The caller has checked that the run is live with this length.</summary>
    private void CacheRun(PageRecord* head, nuint address, nuint count)
    {
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        head->Flags = RunStates.Cached;
        nuint evicted = cache.Pages.Put(address, (int)count);
        cache.Lock.Exit();
        if (evicted != 0) FreeEvictedRun(evicted, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeEvictedRun(nuint run, nuint count)
    {
        _buddyLock.Enter();
        try { _buddy.FreePages(run, count); }
        finally { _buddyLock.Exit(); }
        PurgeIfDue();
    }

    /// <summary>The head record of the live run starting at <paramref name="address"/>, or null: the first region
    /// straight from the fields cached at Init, other regions through the section table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PageRecord* RunHead(nuint address)
    {
        nuint offset = address - _firstPages;
        return offset < _firstPagesBytes ? FirstRegionRunHead(offset) : _buddy.RunHeadRecord(address);
    }

    /// <summary><see cref="RunHead"/> for an address <paramref name="offset"/> bytes into the first region's pages (the
    /// caller checked the range): its record, when the address starts a page that heads a run; null otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PageRecord* FirstRegionRunHead(nuint offset)
    {
        if ((offset & ((nuint)_pageSize - 1)) != 0) return null;
        PageRecord* r = _firstRecords + (offset >> _pageShift);
        return r->IsRunHead ? r : null;
    }

    /// <summary>Pops a run of <paramref name="count"/> pages from a thread's stack, refilling the stack with up to half its
    /// capacity from the CPU's cache first when it is empty; false when both are empty.</summary>
    private bool TryPopRun(ThreadCacheBlock* tc, RunStack* stack, nuint count, out nuint run)
    {
        int n = stack->Count;
        if (n == 0)
        {
            ReapThreadRunsIfDue(tc);
            CpuCache cache = CurrentCpu();
            cache.Lock.Enter();
            for (nuint taken; n < stack->Limit / 2 && (taken = cache.Pages.Take((int)count)) != 0;) stack->Items[n++] = taken;
            cache.Lock.Exit();
            if (n == 0)
            {
                run = 0;
                return false;
            }
            stack->Count = n;
        }
        run = PopRun(stack);
        return true;
    }

    /// <summary>Takes the newest run off a non-empty thread stack and marks it allocated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nuint PopRun(RunStack* stack)
    {
        int n = --stack->Count;
        if (n < stack->LowWater) stack->LowWater = n;
        nuint run = (nuint)stack->Items[n];
        RunHead(run)->Flags = PageFlags.Allocated;
        return run;
    }

    /// <summary>Parks a live run, whose head record the caller checked, on a thread stack with room: marked cached, so a
    /// second free of it is refused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ParkRun(PageRecord* head, RunStack* stack, nuint address)
    {
        head->Flags = RunStates.Cached;
        stack->Items[stack->Count++] = address;
    }

    /// <summary>Once a purge interval, on one of the thread's own slow paths: the runs each of its stacks held all
    /// through the last interval go to the CPU's cache (whose passes reap them in turn), oldest first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReapThreadRunsIfDue(ThreadCacheBlock* tc)
    {
        if (_purgeIntervalMilliseconds > 0 && Environment.TickCount64 >= tc->NextRunReap) ReapThreadRuns(tc);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReapThreadRuns(ThreadCacheBlock* tc)
    {
        tc->NextRunReap = Environment.TickCount64 + _purgeIntervalMilliseconds;
        for (int length = 1; length <= RunStack.MaxPages; length++)
        {
            RunStack* stack = tc->Runs + (length - 1);
            int unused = Math.Min(stack->LowWater, stack->Count);
            if (unused != 0) MoveRunsToCpu(stack, (nuint)length, unused);
            stack->LowWater = stack->Count;
        }
    }

    /// <summary>Moves the older half of a full thread stack of runs to the CPU's cache.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SpillRuns(RunStack* stack, nuint count) => MoveRunsToCpu(stack, count, stack->Limit / 2);

    /// <summary>Moves every run of a thread's stacks to the CPU's cache.</summary>
    private void FlushRuns(ThreadCache tc)
    {
        for (int length = 1; length <= RunStack.MaxPages; length++)
        {
            RunStack* stack = tc.Runs + (length - 1);
            if (stack->Count != 0) MoveRunsToCpu(stack, (nuint)length, stack->Count);
        }
    }

    /// <summary>Moves the <paramref name="n"/> oldest runs of a thread's stack of <paramref name="count"/>-page runs to the
    /// CPU's cache in one locked step; the runs they displace from it go to the buddy.</summary>
    private void MoveRunsToCpu(RunStack* stack, nuint count, int n)
    {
        nuint chain = 0;
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        for (int i = 0; i < n; i++)
        {
            nuint evicted = cache.Pages.Put((nuint)stack->Items[i], (int)count);
            if (evicted != 0) chain = Link(evicted, count, chain);
        }
        cache.Lock.Exit();
        for (int i = n; i < stack->Count; i++) stack->Items[i - n] = stack->Items[i];
        stack->Count -= n;
        if (stack->Count < stack->LowWater) stack->LowWater = stack->Count;
        FreeChain(chain);
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
                for (nuint run; (run = cache.Pages.Take(pages)) != 0;) chain = Link(run, (nuint)pages, chain);
            }
            cache.Lock.Exit();
            FreeChain(chain);
        }
    }

    /// <summary>Gives the buddy, from every CPU's cache, the runs of each length that no take needed since the previous
    /// pass (the fewest the length held meanwhile), oldest first.</summary>
    private void ReapPageCaches()
    {
        Span<nuint> taken = stackalloc nuint[PageRunCache.Capacity(1, _pageSize, reaping: true)];
        foreach (CpuCache cache in _cpus)
        {
            nuint chain = 0;
            cache.Lock.Enter();
            for (int pages = 1; pages <= PageRunCache.MaxPages; pages++)
            {
                int n = cache.Pages.Reap(pages, taken);
                for (int i = 0; i < n; i++) chain = Link(taken[i], (nuint)pages, chain);
            }
            cache.Lock.Exit();
            FreeChain(chain);
        }
    }

    /// <summary>Chains a run for <see cref="FreeChain"/> through its first two words: the next run and its page count.</summary>
    private static nuint Link(nuint run, nuint pages, nuint chain)
    {
        ((nuint*)run)[0] = chain;
        ((nuint*)run)[1] = pages;
        return run;
    }

    /// <summary>Frees a chain of runs made by <see cref="Link"/> to the buddy, under one hold of the buddy lock.</summary>
    private void FreeChain(nuint chain)
    {
        if (chain == 0) return;
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
        PurgeIfDue();
    }
}
