using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Os;

namespace BuddySlab;

// Giving memory back (the verbs are defined in docs/design.md). Trim flushes every cache down to the buddy, other
// threads' included, and releases free memory to the system at once. A purge pass runs on the background clock once an
// interval: it flushes what each cache held unused for a whole interval (the caches of threads that made no slow call,
// those of threads that exited, the depots' and page caches' surplus), drains remote frees, and releases pages that
// stayed free; when the whole heap was idle for an interval it does all of what Trim does. FlushAllCaches is also what a
// request does before it fails for want of memory.
public sealed unsafe partial class GlobalAllocator : IClockClient
{
    /// <summary>Rounds a revocation may wait for another thread's call in flight before it leaves that cache alone
    /// (a pass or a reclaim must not stall on a busy thread; only Dispose waits without bound).</summary>
    private const int RevokeSpins = 200;

    /// <summary>Flushes every cache above the buddy (see <see cref="FlushAllCaches"/>), other threads' included, then
    /// releases to the system every free block of 16 pages or more and every added region that holds nothing.</summary>
    public void Trim()
    {
        ThreadCache? tc = EnterCall();
        try
        {
            FlushAllCaches(revokeOthers: true);
            _arena.Release();                           // runs of metadata whose caches are all gone
            _pages.ReleaseFreeMemory(all: true);
        }
        finally { ExitCall(tc); }
    }

    /// <summary>Gives the buddy everything cached above it: this thread's magazines and run stacks, those of other threads
    /// that are not in a call at the moment (when <paramref name="revokeOthers"/>), the orphans', every depot, cached
    /// empty slabs, drained remote frees and the CPUs' page runs. For <see cref="Trim"/>, an idle heap's purge pass, and a
    /// request that finds the buddy empty and no growth possible. Takes every lock in turn; the caller holds none.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FlushAllCaches(bool revokeOthers)
    {
        if (_useThreadCaches)
        {
            if (t_cache is { } own && own.Owner == this && Volatile.Read(ref own.Block->InCall) != 0) FlushThreadCache(own);
            if (revokeOthers)
                lock (_revokeLock) RevokeAndFlush(SnapshotCaches(), RevokeSpins);
            AdoptOrphans();
            FlushDepots();
        }
        foreach (CpuCache cache in _cpus)
        {
            cache.EnterAsVisitor();
            cache.Slabs.Trim();
            ExitCpuAsVisitor(cache);
        }
        FlushPageCaches();
    }

    /// <summary>Empties every depot, shared and per CPU, into the slabs.</summary>
    private void FlushDepots()
    {
        for (int cls = 0; cls < _table.Classes.Length; cls++)
        {
            Magazine* chain = _sharedDepot.TakeAll(cls, out int fullCount);
            if (chain != null) FlushChain(chain, fullCount, cls);
        }
        ulong owners = 0;
        foreach (CpuCache cache in _cpus)
        {
            Magazine* chain = null;
            cache.EnterAsVisitor();
            for (int cls = 0; cls < cache.Depot.Length; cls++)
            {
                ref MagazineDepot depot = ref cache.Depot[cls];
                for (Magazine* m; (m = cache.TakeFull(cls)) != null;) { FlushToSlabs(cache, m, cls, ref owners); m->Next = chain; chain = m; }
                for (Magazine* m; (m = depot.TakeEmpty()) != null;) { m->Next = chain; chain = m; }
            }
            ExitCpuAsVisitor(cache);
            Magazine.DestroyChain(_arena, chain);
        }
        DrainOwners(owners);
    }

    /// <summary>Flushes the first <paramref name="fullCount"/> magazines of a chain to the slabs (under the caller's CPU
    /// lock) and frees every magazine of it.</summary>
    private void FlushChain(Magazine* chain, int fullCount, int cls)
    {
        CpuCache cache = CurrentCpu();
        ulong owners = 0;
        cache.EnterAsVisitor();
        int i = 0;
        for (Magazine* m = chain; i < fullCount; m = m->Next, i++) FlushToSlabs(cache, m, cls, ref owners);
        ExitCpuAsVisitor(cache);
        Magazine.DestroyChain(_arena, chain);
        DrainOwners(owners);
    }

    /// <summary>Gives every run the CPUs' page caches hold back to the buddy.</summary>
    private void FlushPageCaches()
    {
        foreach (CpuCache cache in _cpus)
        {
            var chain = new RunChain();
            cache.EnterAsVisitor();
            for (int pages = 1; pages <= PageRunCache.MaxPages; pages++)
                for (nuint run; (run = cache.Pages.Take(pages)) != 0;) chain.Add(run, (nuint)pages);
            cache.ExitAsVisitor();
            _pages.Free(chain);
        }
    }

    /// <summary>What the caches every thread shares may hold per CPU whatever is live (see
    /// <see cref="NativeHeapOptions.SharedCacheBytesPerCpu"/>); on top of it, a quarter of the live bytes. A smaller value
    /// takes effect for new holds at once; what the caches hold above it goes down at the next purge pass or
    /// <see cref="Trim"/>.</summary>
    public nuint SharedCacheBytesPerCpu
    {
        get
        {
            EnsureReady();
            return (nuint)_budget.BytesPerCpu;
        }
        set
        {
            EnsureReady();
            if ((ulong)value > 1UL << 40) ThrowHelper.Throw(AllocError.InvalidParam, "The shared caches' bytes per CPU must be at most 1 TiB.");
            _budget.BytesPerCpu = (long)value;
        }
    }

    // ---- purge passes ----

    /// <summary>How often, in milliseconds, a purge pass runs (see <see cref="PurgePass"/>); 0: never, only
    /// <see cref="Trim"/>. While passes run, the shared depot and the page-run caches may hold more, since the passes
    /// take back what they do not need. The native heap sets it and starts the background clock
    /// (<see cref="StartClock"/>); over a caller's regions, whose lifetime the allocator does not know, passes run only
    /// when the owner calls for them.</summary>
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
                cache.EnterAsVisitor();
                cache.Pages.Purging = purging;
                cache.ExitAsVisitor();
            }
        }
    }

    /// <summary>Runs <see cref="PurgePass"/> on the background clock once an interval from now on, until
    /// <see cref="StopClock"/> or disposal.</summary>
    internal void StartClock()
    {
        if (_pages.PurgeIntervalMilliseconds > 0 && !_disposing) BackgroundClock.Register(this);
    }

    /// <summary>Stops the background clock's passes; a pass in progress finishes first.</summary>
    internal void StopClock()
    {
        BackgroundClock.Unregister(this);
        lock (_passLock) { }
    }

    long IClockClient.IntervalMilliseconds => _pages.PurgeIntervalMilliseconds;

    void IClockClient.Tick() => PurgePass();

    /// <summary>One purge pass (the background clock's, or a test's by hand). Caches of threads that made no slow call
    /// since the previous pass are revoked and flushed, and those of threads that exited are taken over; the shared
    /// depot's and the page caches' surplus (what no thread took since the previous pass) goes down a layer; remote frees
    /// still waiting for their owner are drained; pages free since the previous pass are released. When no live thread used
    /// the heap for a whole interval (what threads that exited since did counts as no use), every cache is flushed and all
    /// free memory released, as <see cref="Trim"/> does.</summary>
    internal void PurgePass()
    {
        lock (_passLock)
        {
            if (_disposing || !_ready) return;
            long pass = Interlocked.Increment(ref _pass);
            bool pagesUsed = _pages.TakeActivity(), uncachedUsed = _uncachedCalls != _uncachedCallsSeen;
            _uncachedCallsSeen = _uncachedCalls;
            bool threadsUsed = false, threadsExited = false;
            if (_useThreadCaches)
            {
                lock (_revokeLock)
                {
                    List<ThreadCache> quiet = _quiet;
                    quiet.Clear();
                    foreach (ThreadCache tc in SnapshotCaches())
                    {
                        bool alive = tc.Thread.IsAlive;
                        if (Volatile.Read(ref tc.Block->SeenPass) >= pass - 1 && alive) threadsUsed = true;
                        else quiet.Add(tc);
                        threadsExited |= !alive;
                    }
                    RevokeAndFlush(quiet, RevokeSpins);
                }
                threadsExited |= _orphanCount != 0;
                AdoptOrphans();
            }
            // With thread caches every call that reaches the pages marks its thread's cache first (SeenPass), so when this
            // pass takes over the caches of threads that exited and no live thread marked its cache, the pages were used
            // by those threads: the heap is idle, and what they held goes back now rather than a pass later.
            if (!threadsUsed && !uncachedUsed && (!pagesUsed || threadsExited))
            {
                FlushAllCaches(revokeOthers: _useThreadCaches);
                _arena.Release();
                _pages.ReleaseFreeMemory(all: true);
                _budget.Adjust((long)_pages.AllocatedBytes);
                return;
            }
            PurgeSharedDepot();
            PurgePageCaches();
            // Remote frees whose owner has not come back to their class: drained here, so their slabs can empty and go back.
            foreach (CpuCache cache in _cpus)
            {
                if (!cache.Slabs.HasPending) continue;
                cache.EnterAsVisitor();
                cache.Slabs.DrainAllPending();
                ExitCpuAsVisitor(cache);
            }
            _arena.Release();
            _pages.ReleaseFreeMemory(all: false);
            _budget.Adjust((long)_pages.AllocatedBytes);
            // What the pass itself gave the buddy (flushed caches, exited threads' runs) is no use of the heap: counted,
            // it made the next pass look busy too, and memory left by threads that exited went back a pass later.
            _pages.TakeActivity();
        }
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
            cache.EnterAsVisitor();
            for (int pages = 1; pages <= PageRunCache.MaxPages; pages++)
            {
                int n = cache.Pages.TakeUnused(pages, taken);
                for (int i = 0; i < n; i++) chain.Add(taken[i], (nuint)pages);
            }
            cache.ExitAsVisitor();
            _pages.Free(chain);
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
            stack->Asked = 0;                                   // a new interval: will the thread still ask for this length?
        }
    }
}
