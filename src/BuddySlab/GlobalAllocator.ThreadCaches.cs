using System.Runtime.CompilerServices;
using BuddySlab.Caches;
using BuddySlab.Slab;

namespace BuddySlab;

// Thread caches: finding the calling thread's (a thread-static pointer the fast paths read), making one on first use,
// handing out ThreadHeap handles, flushing a cache's magazines to the slabs, and taking over the caches of threads
// that exited (orphans) or destroying them all on dispose.
public sealed unsafe partial class GlobalAllocator
{
    [ThreadStatic] private static ThreadCache? t_cache;          // the cache this thread used last
    [ThreadStatic] private static ThreadCacheSet? t_caches;      // all of this thread's caches; its finalizer orphans them
    [ThreadStatic] private static List<ThreadHeap>? t_handles;   // this thread's handles, one per allocator (never in a list an allocator holds)

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
        List<ThreadHeap> handles = t_handles ??= [];
        handles.RemoveAll(static h => !h.Allocator.IsInitialized);   // handles on disposed heaps: let those heaps go
        foreach (ThreadHeap handle in handles)
            if (handle.Allocator == this) return handle;
        var created = new ThreadHeap(this, tc, t_caches!);
        handles.Add(created);
        return created;
    }

    /// <summary>Flushes the magazines of a <see cref="ThreadHeap"/>'s cache (its own thread calls).</summary>
    internal void FlushThreadCacheOf(ThreadCache tc)
    {
        EnsureReady();
        if (tc.Owner == this) FlushThreadCache(tc);
    }

    /// <summary>The capacities of the calling thread's loaded and previous magazines of <paramref name="cls"/> (for tests).</summary>
    internal (int Loaded, int Previous) MagazineCapacities(int cls)
    {
        ThreadCache tc = CurrentThreadCache();
        return (tc.Block->LoadedOf(cls)->Capacity, tc.Previous[cls]->Capacity);
    }

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

    /// <summary>The cache a slow path works on: the one the fast path tried (the thread's, or a <see cref="ThreadHeap"/>'s),
    /// or when it had none of this allocator's, this thread's.</summary>
    private ThreadCache CacheFor(ThreadCacheBlock* caller) => caller != null && caller->Owner == Token ? caller->ManagedCache : CurrentThreadCache();

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
        var created = new ThreadCache(this, Token, _table);
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

    /// <summary>Empties a thread cache's magazines into the slabs and its run stacks into the CPU's page cache.</summary>
    private void FlushThreadCache(ThreadCache tc)
    {
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        for (int cls = 0; cls < tc.Classes; cls++)
        {
            FlushToSlabs(cache, tc.Block->LoadedOf(cls), cls);
            FlushToSlabs(cache, tc.Previous[cls], cls);
        }
        ExitCpu(cache);
        FlushRuns(tc);
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

    /// <summary>Called by the finalizer of an exited thread's cache set: the cache is flushed at the next slow path or <see cref="Trim"/>.</summary>
    void IThreadCacheOwner.Orphan(ThreadCache cache)
    {
        lock (_cachesLock)
        {
            if (_disposed || !_threadCaches.Remove(cache)) return;
            _orphans.Add(cache);
            _orphanCount = _orphans.Count;
        }
    }

    /// <summary>Flushes and destroys the caches of threads that exited.</summary>
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

    /// <summary>On dispose: the memory is going away, so the magazines are only destroyed, not flushed.</summary>
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
