using System.Runtime.CompilerServices;
using BuddySlab.Diagnostics;
using BuddySlab.Slab;

namespace BuddySlab;

// The magazine layer's cold paths: exchanging magazines with the CPU depots, filling them from and flushing them
// to the slabs, recognising a second free of an object that sits in a magazine, and recovering the magazines of
// threads that exited.
public sealed unsafe partial class GlobalAllocator
{
    [ThreadStatic] private static ThreadCache? t_cache;      // the cache this thread used last
    [ThreadStatic] private static ThreadCacheSet? t_caches;  // all of this thread's caches; its finalizer orphans them

    private readonly Lock _cachesLock = new();
    private readonly List<ThreadCache> _threadCaches = [];    // every live cache, for Dispose
    private readonly List<ThreadCache> _orphans = [];         // caches of exited threads, not yet flushed
    private volatile int _orphanCount;
    private bool _useThreadCaches = true;
    private SharedDepot _sharedDepot = null!;                 // full magazines CPU depots had no room for (set at Init)

    /// <summary>Whether small objects go through per-thread magazines (the default). Set before <see cref="Init"/>;
    /// turn it off where threads are not the unit of execution (a kernel's own scheduler) to route every small
    /// request to the CPU's slab allocator under its lock.</summary>
    public bool ThreadCaches
    {
        get => _useThreadCaches;
        set
        {
            if (_ready || _disposed) throw new InvalidOperationException("ThreadCaches must be set before Init.");
            _useThreadCaches = value;
        }
    }

    /// <summary>Returns the objects in the calling thread's magazines to the slabs, so that <see cref="AllocatedBytes"/>
    /// and <see cref="Trim"/> see them as free. Worth calling from a thread that is done with the heap for a while.</summary>
    public void FlushThreadCache()
    {
        EnsureReady();
        if (t_cache is { } tc && tc.Owner == this) FlushThreadCache(tc);
        else if (t_caches is { } set)
            foreach (ThreadCache cache in set.Caches)
                if (cache.Owner == this) FlushThreadCache(cache);
    }

    /// <summary>The calling thread's <see cref="ThreadHeap"/> on this allocator: the same handle every time on one thread.
    /// Needs <see cref="ThreadCaches"/> on.</summary>
    public ThreadHeap ForCurrentThread()
    {
        EnsureReady();
        if (!_useThreadCaches) throw new InvalidOperationException("A ThreadHeap works through thread caches, and ThreadCaches is off for this allocator.");
        ThreadCache tc = CurrentThreadCache();
        ThreadCacheSet set = t_caches!;
        set.Handles.RemoveAll(static h => !h.Allocator.IsInitialized);   // handles on disposed heaps: let those heaps go
        foreach (ThreadHeap handle in set.Handles)
            if (handle.Allocator == this) return handle;
        var created = new ThreadHeap(this, tc, set);
        set.Handles.Add(created);
        return created;
    }

    internal int SharedDepotFullCount(int cls) => _sharedDepot.FullCount(cls);

    /// <summary>The capacities of the calling thread's loaded and previous magazines of <paramref name="cls"/> (for tests).</summary>
    internal (int Loaded, int Previous) MagazineCapacities(int cls)
    {
        ThreadCache tc = CurrentThreadCache();
        return (tc.Block->LoadedOf(cls)->Capacity, tc.Previous[cls]->Capacity);
    }

    internal void FlushThreadCacheOf(ThreadCache tc)
    {
        EnsureReady();
        if (tc.Owner == this) FlushThreadCache(tc);
    }

    /// <summary>The cache a slow path works on: the one the fast path tried (the thread's, or a <see cref="ThreadHeap"/>'s),
    /// or when it had none of this allocator's, this thread's.</summary>
    private ThreadCache CacheFor(ThreadCacheBlock* caller) => caller != null && caller->Owner == Token ? caller->ManagedCache : CurrentThreadCache();

    /// <summary>The block of the cache this thread used last (any allocator's, or null): what the fast paths of the
    /// allocator's own calls try first.</summary>
    private static ThreadCacheBlock* CallerBlock
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (ThreadCacheBlock*)LastBlock.Value;
    }

    /// <summary>Holds the thread-static pointer alone, a primitive: the JIT reads it at a fixed offset from the thread's
    /// TLS area, and can lift finding that area out of a caller's loop (see <see cref="ThreadCacheBlock"/>).</summary>
    private static class LastBlock
    {
        [ThreadStatic] internal static nint Value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool AllocateSmallSlow(int cls, ThreadCacheBlock* caller, out void* pointer)
    {
        if (!_useThreadCaches) return TryAllocateFromSlabs(cls, out pointer);
        ThreadCache tc = CacheFor(caller);
        if (_orphanCount != 0) AdoptOrphans();
        ReapThreadRunsIfDue(tc.Block);

        Magazine* loaded;
        CpuCache? dry = null;                          // set when the CPU's slabs had nothing either
        tc.ExchangeLock.Enter();     // a double-free check on another thread may be reading these magazines
        try
        {
            loaded = tc.Block->LoadedOf(cls);
            if (loaded->Count == 0)
            {
                Magazine* previous = tc.Previous[cls];
                if (previous->Count != 0)
                {
                    loaded = tc.Load(cls, previous, loaded);
                }
                else if (_sharedDepot.FullCount(cls) != 0 && _sharedDepot.TakeFull(cls, previous, CurrentCpu().Slabs.Cpu, out Magazine* surplus) is var shared && shared != null)
                {
                    // Both empty, and another CPU's frees overflowed to the shared depot: take a full magazine from there.
                    if (surplus != null) Magazine.Destroy(surplus);
                    loaded = tc.Load(cls, shared, loaded);
                }
                else
                {
                    // Both empty: a full magazine from the CPU's depot for the empty previous one, or objects from the slabs.
                    CpuCache cache = CurrentCpu();
                    Magazine* spare = null;
                    cache.Lock.Enter();
                    ref MagazineDepot depot = ref cache.Depot[cls];
                    Magazine* full = depot.TakeFull();
                    if (full != null)
                    {
                        if (!depot.TryPutEmpty(previous)) spare = previous;
                        loaded = tc.Load(cls, full, loaded);
                    }
                    else
                    {
                        int n = cache.Slabs.TryAllocateBatch(cls, Magazine.Items(loaded), loaded->Capacity);
                        new Span<nuint>(Magazine.Items(loaded), n).Reverse();     // popped from the top: lowest address first
                        loaded->Count = n;
                    }
                    bool release = cache.Slabs.HasReleasable;
                    cache.Lock.Exit();
                    if (spare != null) Magazine.Destroy(spare);
                    if (release) ReleaseSlabs(cache);
                    if (loaded->Count == 0) dry = cache;
                }
            }
        }
        finally { tc.ExchangeLock.Exit(); }
        if (dry is not null) return TryAllocateWithNewSlab(dry, cls, out pointer);
        nuint address = Magazine.Items(loaded)[--loaded->Count];
        *(nuint*)address = 0;
        pointer = (void*)address;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeSmallSlow(SlabHeader* s, nuint address, ThreadCacheBlock* caller)
    {
        if (!_useThreadCaches)
        {
            FreeToSlabs(s, address);
            return;
        }
        ThreadCache tc = CacheFor(caller);
        ReapThreadRunsIfDue(tc.Block);
        int cls = s->ClassIndex;
        Magazine* loaded = tc.Block->LoadedOf(cls);
        if (loaded->Count == loaded->Capacity)
        {
            tc.ExchangeLock.Enter();
            try
            {
                Magazine* previous = tc.Previous[cls];
                if (previous->Count == previous->Capacity)
                {
                    // Both full: the previous one goes to a depot for an empty one, or its objects back to the slabs.
                    previous = TradeFullMagazine(previous, cls);
                }
                loaded = tc.Load(cls, previous, loaded);
            }
            finally { tc.ExchangeLock.Exit(); }
        }
        Magazine.Items(loaded)[loaded->Count++] = address;
        *(nuint*)address = address ^ _cookie;
    }

    /// <summary>Parks a full magazine in the CPU's depot, or when that is full in the shared depot, and answers an empty
    /// one (from the depot, or new); when both are full, flushes its objects to the slabs and answers it emptied.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Magazine* TradeFullMagazine(Magazine* full, int cls)
    {
        CpuCache cache = CurrentCpu();
        Magazine* empty = null;
        int capacity = full->Capacity;                   // once shelved, another thread or a reaping pass may free it
        cache.Lock.Enter();
        ref MagazineDepot depot = ref cache.Depot[cls];
        bool kept = depot.TryPutFull(full);
        if (kept) empty = depot.TakeEmpty();
        cache.Lock.Exit();
        if (!kept) kept = _sharedDepot.TryPutFull(cls, full, cache.Slabs.Cpu, out empty);
        PurgeIfDue();                                    // a heap that only trades magazines still gets its passes
        if (kept) return empty != null ? empty : Magazine.Create(capacity);

        cache.Lock.Enter();
        FlushToSlabs(cache, full, cls);
        bool release = cache.Slabs.HasReleasable;
        cache.Lock.Exit();
        if (release) ReleaseSlabs(cache);
        return full;
    }

    /// <summary>Frees every object of <paramref name="m"/> into its slab, batching remote frees per slab. Under the
    /// lock of <paramref name="cache"/>, whose CPU owns the local ones.</summary>
    private void FlushToSlabs(CpuCache cache, Magazine* m, int cls)
    {
        nuint* items = Magazine.Items(m);
        nuint slabMask = _classInfo[cls].SlabMask;
        int cpu = cache.Slabs.Cpu;
        SlabHeader* batchSlab = null;
        nuint batchHead = 0, batchTail = 0;
        int batchCount = 0;
        for (int i = 0; i < m->Count; i++)
        {
            nuint address = items[i];
            var s = (SlabHeader*)(address & slabMask);
            if (s->OwnerCpu == cpu)
            {
                cache.Slabs.FreeChecked(s, address);    // validated and marked when it entered the magazine
                continue;
            }
            if (s != batchSlab)
            {
                if (batchCount != 0) RemoteFree.PushChain(batchSlab, batchHead, batchTail, batchCount);
                batchSlab = s;
                batchHead = batchTail = address;
                batchCount = 1;
                SlabHeader.LinkOf(s, address) = 0;
                continue;
            }
            SlabHeader.LinkOf(s, address) = batchHead;   // the object keeps its free mark (but in 8-byte slabs)
            batchHead = address;
            batchCount++;
        }
        if (batchCount != 0) RemoteFree.PushChain(batchSlab, batchHead, batchTail, batchCount);
        m->Count = 0;
        cache.Slabs.DrainPendingIfAny(cls);
    }

    private void FlushThreadCache(ThreadCache tc)
    {
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        for (int cls = 0; cls < tc.Classes; cls++)
        {
            FlushToSlabs(cache, tc.Block->LoadedOf(cls), cls);
            FlushToSlabs(cache, tc.Previous[cls], cls);
        }
        bool release = cache.Slabs.HasReleasable;
        cache.Lock.Exit();
        if (release) ReleaseSlabs(cache);
        FlushRuns(tc);
    }

    /// <summary>Flushes to the slabs the shared depot's full magazines that no thread needed since the previous pass.</summary>
    private void ReapSharedDepot()
    {
        for (int cls = 0; cls < _table.Classes.Length; cls++)
        {
            Magazine* chain = _sharedDepot.Reap(cls, out int count);
            if (chain != null) FlushChain(chain, count, cls);   // (empty magazines only, sometimes)
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
        bool release = cache.Slabs.HasReleasable;
        cache.Lock.Exit();
        if (release) ReleaseSlabs(cache);
        Magazine.DestroyChain(chain);
    }

    /// <summary>Empties the calling thread's magazines, the orphans' and every depot into the slabs (for <see cref="Trim"/>).</summary>
    private void FlushCaches()
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache CurrentThreadCache()
    {
        if (t_cache is { } last && last.Owner == this) return last;
        ThreadCacheSet set = t_caches ??= new ThreadCacheSet();
        foreach (ThreadCache cache in set.Caches)
        {
            if (cache.Owner == this)
            {
                UseLast(cache);
                return cache;
            }
        }
        var created = new ThreadCache(this, _table);
        lock (_cachesLock) _threadCaches.Add(created);
        set.Caches.Add(created);
        UseLast(created);
        return created;

        static void UseLast(ThreadCache cache)
        {
            t_cache = cache;
            LastBlock.Value = (nint)cache.Block;
        }
    }

    /// <summary>Called by the finalizer of an exited thread's cache set: the cache is flushed at the next slow path or <see cref="Trim"/>.</summary>
    internal void Orphan(ThreadCache cache)
    {
        lock (_cachesLock)
        {
            if (_disposed || !_threadCaches.Remove(cache)) return;
            _orphans.Add(cache);
            _orphanCount = _orphans.Count;
        }
    }

    private void AdoptOrphans()
    {
        ThreadCache[] orphans;
        lock (_cachesLock)
        {
            if (_orphans.Count == 0 || _disposed) return;
            orphans = [.. _orphans];
            _orphans.Clear();
            _orphanCount = 0;
        }
        foreach (ThreadCache orphan in orphans)
        {
            FlushThreadCache(orphan);
            orphan.Destroy();
        }
    }

    /// <summary>The object at <paramref name="address"/> carries the magazine mark: if it really sits in a magazine
    /// (the caller's, this thread's, a depot's or an orphan's), this is a second free and it throws; otherwise the
    /// mark was a coincidence and the free goes on.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIfCached(nuint address, int cls, ThreadCacheBlock* caller)
    {
        ThreadCache? own = caller != null && caller->Owner == Token ? caller->ManagedCache : null;
        bool cached = own is not null && own.HoldsLocked(cls, address);
        cached = cached || _sharedDepot.Contains(cls, address);
        foreach (CpuCache cache in _cpus)
        {
            if (cached) break;
            cache.Lock.Enter();
            for (Magazine* m = cache.Depot[cls].Full; m != null && !cached; m = m->Next) cached = Magazine.Contains(m, address);
            cache.Lock.Exit();
        }
        // Every thread's magazines, each read under its exchange lock (so none is traded away or destroyed meanwhile),
        // and the orphans'. A free racing with the owner's own exchange of that magazine may still go unseen.
        if (!cached)
            lock (_cachesLock)
            {
                foreach (ThreadCache tc in _threadCaches)
                    if (tc != own && (cached = tc.HoldsLocked(cls, address))) break;   // the caller's was read first
                foreach (ThreadCache orphan in _orphans)
                    cached = cached || orphan.Holds(cls, address);
            }
        if (cached) ThrowHelper.NotAllocated(address, "is already free (double free)");
    }

    /// <summary>On dispose: the memory is going away, so the magazines are only released, not flushed.</summary>
    private void DestroyThreadCaches()
    {
        lock (_cachesLock)
        {
            foreach (ThreadCache cache in _threadCaches) { cache.Owner = null; cache.Destroy(); }
            foreach (ThreadCache cache in _orphans) { cache.Owner = null; cache.Destroy(); }
            _threadCaches.Clear();
            _orphans.Clear();
            _orphanCount = 0;
        }
        foreach (CpuCache cache in _cpus)
            for (int cls = 0; cls < cache.Depot.Length; cls++)
            {
                ref MagazineDepot depot = ref cache.Depot[cls];
                for (Magazine* m; (m = depot.TakeFull()) != null;) Magazine.Destroy(m);
                for (Magazine* m; (m = depot.TakeEmpty()) != null;) Magazine.Destroy(m);
            }
        for (int cls = 0; cls < _table.Classes.Length; cls++)
            Magazine.DestroyChain(_sharedDepot.TakeAll(cls, out _));
    }
}
