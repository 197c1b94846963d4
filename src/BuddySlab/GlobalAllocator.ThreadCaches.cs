using System.Runtime.CompilerServices;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Slab;

namespace BuddySlab;

// Thread caches: finding the calling thread's (a thread-static pointer the fast paths read), making one on first use,
// marking every cold call in flight on it (EnterCall / ExitCall), handing out ThreadHeap handles, flushing a cache to
// the slabs, and revoking other threads' caches: to flush those their threads left idle or to reclaim memory, to take
// over the caches of threads that exited, and to wait out every call in flight before the heap goes away.
public sealed unsafe partial class GlobalAllocator
{
    [ThreadStatic] private static ThreadCache? t_cache;          // the cache this thread used last
    [ThreadStatic] private static ThreadCacheSet? t_caches;      // all of this thread's caches; its finalizer orphans them
    [ThreadStatic] private static List<ThreadHeap>? t_handles;   // this thread's handles, one per allocator (never in a list an allocator holds)

    /// <summary>Returns the objects in the calling thread's magazines to the slabs, so that <see cref="AllocatedBytes"/>
    /// and <see cref="Trim"/> see them as free. Worth calling from a thread that is done with the heap for a while.</summary>
    public void FlushThreadCache()
    {
        ThreadCache? tc = EnterCall();
        try
        {
            if (tc is not null) FlushThreadCache(tc);
        }
        finally { ExitCall(tc); }
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
    internal void FlushThreadCacheOf(ThreadCacheBlock* handleBlock)
    {
        ThreadCache? tc = EnterCall(handleBlock);
        try
        {
            if (tc is not null) FlushThreadCache(tc);
        }
        finally { ExitCall(tc); }
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

    // ---- calls in flight ----

    /// <summary>Starts a cold call: the calling thread's own cache of this allocator (made on first use), marked in
    /// flight and armed, so that nothing revokes or frees it until <see cref="ExitCall"/>; null with
    /// <see cref="ThreadCaches"/> off. <paramref name="caller"/> is the block the caller came through (a handle's, or
    /// the thread's last): a handle whose thread exited is refused. Throws <see cref="ObjectDisposedException"/> once
    /// <c>Dispose</c> has begun. Every cold path runs between this and <see cref="ExitCall"/>, in a try/finally. (Reads of
    /// statistics use <see cref="EnterRead"/> instead.)</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache? EnterCall(ThreadCacheBlock* caller = null)
    {
        if (!_ready) ThrowNotReady();
        if (!_useThreadCaches)
        {
            _uncachedCalls++;                           // a hint for the purge pass (lost updates do not matter)
            return null;
        }
        if (caller != null && Volatile.Read(ref caller->ThreadExited) != 0) ThrowHelper.HandleOfExitedThread();
        ThreadCache tc = CurrentThreadCache();
        ThreadCacheBlock* b = tc.Block;
        while (true)
        {
            if (ThreadCacheBlock.Enter(b, Token))
            {
                b->SeenPass = Volatile.Read(ref _pass);
                return tc;
            }
            ThreadCacheBlock.Exit(b);
            if (_disposing || !ThreadCacheBlock.TryRearm(b, Token)) ThrowNotReady();
        }
    }

    /// <summary>Ends a cold call begun with <see cref="EnterCall"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExitCall(ThreadCache? tc)
    {
        if (tc is not null) ThreadCacheBlock.Exit(tc.Block);
    }

    /// <summary>The calling thread's cache of this allocator, made on first use; refused once <c>Dispose</c> has begun.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache CurrentThreadCache()
    {
        if (t_cache is { } last && last.Owner == this) return last;
        ThreadCacheSet set = t_caches ??= new ThreadCacheSet();
        if (set.Find(this) is { } found)
        {
            UseLast(found);
            return found;
        }
        // A cache is made on the heap's own pages: Dispose waits for every cache in the making before the pages go.
        Interlocked.Increment(ref _outsideCalls);
        ThreadCache created;
        try
        {
            if (_disposing) ThrowNotReady();
            created = new ThreadCache(this, Token, _table);
            lock (_cachesLock)
            {
                if (_disposing)
                {
                    created.Owner = null;
                    created.Destroy();
                    created.ReleaseBlock();
                    ThrowNotReady();
                }
                _threadCaches.Add(created);
            }
        }
        finally { Interlocked.Decrement(ref _outsideCalls); }
        set.Caches.Add(created);
        UseLast(created);
        return created;

        static void UseLast(ThreadCache cache)
        {
            t_cache = cache;
            LastBlock.Value = (nint)cache.Block;
        }
    }

    // ---- flushing a cache ----

    /// <summary>Empties a thread cache's magazines into the slabs and its run stacks into the CPU's page cache. Its own
    /// thread inside a call, or another thread that revoked it.</summary>
    private void FlushThreadCache(ThreadCache tc)
    {
        CpuCache cache = CurrentCpu();
        ulong owners = 0;
        tc.ExchangeLock.Enter();            // double-free checks on other threads read these magazines
        cache.Lock.Enter();
        for (int cls = 0; cls < tc.Classes; cls++)
        {
            FlushToSlabs(cache, tc.Block->LoadedOf(cls), cls, ref owners);
            FlushToSlabs(cache, tc.Previous[cls], cls, ref owners);
        }
        ExitCpu(cache);
        tc.ExchangeLock.Exit();
        DrainOwners(owners);
        FlushRuns(tc);
    }

    /// <summary>Frees every object of <paramref name="m"/> into its slab, batching remote frees per slab. Under the
    /// lock of <paramref name="cache"/>, whose CPU owns the local ones; the CPUs that got remote frees are added to
    /// <paramref name="remoteOwners"/> (a bit per CPU, modulo 64) for <see cref="DrainOwners"/>.</summary>
    private void FlushToSlabs(CpuCache cache, Magazine* m, int cls, ref ulong remoteOwners)
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
            if (!Magazine.IsOwnMark(m, i)) continue;   // freed twice at once: the slot its mark names has it
            // In transit until it is free in its slab: a free that judged the old mark cannot push it now (see Magazine).
            Volatile.Write(ref *(nuint*)address, Magazine.TransitMark(address, _cookie));
            var s = (SlabHeader*)(address & slabMask);
            if (s->OwnerCpu == cpu)
            {
                cache.Slabs.FreeChecked(s, address);    // validated when it entered the magazine
                Volatile.Write(ref *(nuint*)address, address ^ _cookie);
                continue;
            }
            // An 8-byte object's link is its only word, where the transit mark was: its remote bit goes first instead.
            if (s->ObjectSize < 16) RemoteFree.MarkPending(s, address);
            if (s != batchSlab)
            {
                if (batchCount != 0) RemoteFree.PushChain(batchSlab, batchHead, batchTail, batchCount, _cookie);
                remoteOwners |= 1ul << (s->OwnerCpu & 63);
                batchSlab = s;
                batchHead = batchTail = address;
                batchCount = 1;
                SlabHeader.LinkOf(s, address) = 0;
                continue;
            }
            SlabHeader.LinkOf(s, address) = batchHead;   // the object keeps its transit mark (but in 8-byte slabs)
            batchHead = address;
            batchCount++;
        }
        if (batchCount != 0) RemoteFree.PushChain(batchSlab, batchHead, batchTail, batchCount, _cookie);
        m->Count = 0;
        cache.Slabs.DrainPendingIfAny(cls);
    }

    /// <summary>Drains, on each CPU of <paramref name="owners"/> (see <see cref="FlushToSlabs"/>) whose lock is free right
    /// now, the remote frees a flush just handed it: a slab they emptied goes back at once instead of waiting for its
    /// owner, which may never touch that class again (its thread may live on its magazines). The caller holds no lock.</summary>
    private void DrainOwners(ulong owners)
    {
        while (owners != 0)
        {
            int bit = System.Numerics.BitOperations.TrailingZeroCount(owners);
            owners &= owners - 1;
            for (int cpu = bit; cpu < _cpus.Length; cpu += 64)
            {
                CpuCache owner = _cpus[cpu];
                if (!owner.Slabs.HasPending || !owner.TryEnterAsVisitor()) continue;
                owner.Slabs.DrainAllPending();
                ExitCpuAsVisitor(owner);
            }
        }
    }

    // ---- revoking other threads' caches ----

    /// <summary>Revokes the given caches (all but the calling thread's own), waits until no call is in flight on them
    /// (at most <paramref name="spins"/> rounds each; unbounded when negative), then flushes each one that went quiet,
    /// destroys those of exited threads, and lets their threads re-arm the rest. Answers how many it flushed. Caller holds
    /// <c>_revokeLock</c> (under which alone caches are destroyed, so none of these goes away meanwhile) and no other
    /// allocator lock, and is not inside a call on any of these caches.</summary>
    private int RevokeAndFlush(List<ThreadCache> caches, int spins)
    {
        List<ThreadCache> revoked = _revoked;
        revoked.Clear();
        ThreadCache? own = t_cache is { } mine && mine.Owner == this ? mine : null;
        foreach (ThreadCache tc in caches)
            if (tc != own && ThreadCacheBlock.TryRevoke(tc.Block, Token)) revoked.Add(tc);
        if (revoked.Count == 0) return 0;
        Interlocked.MemoryBarrierProcessWide();     // makes every call's in-flight mark visible here (see ThreadCacheBlock)
        int flushed = 0;
        foreach (ThreadCache tc in revoked)
        {
            bool quiet = ThreadCacheBlock.WaitForCalls(tc.Block, spins);
            if (quiet)
            {
                FlushThreadCache(tc);
                flushed++;
            }
            bool exited = quiet && !tc.Thread.IsAlive;
            if (exited) Volatile.Write(ref tc.Block->Destroyed, 1);   // never re-armed (its thread is gone)
            ThreadCacheBlock.EndRevoke(tc.Block);
            if (exited) AdoptExited(tc);                   // last: once destroyed, the block may be freed at any time
        }
        return flushed;
    }

    /// <summary>Takes over the (flushed, revoked) cache of a thread that exited: destroyed, forgotten, and marked so a
    /// handle a new thread on the same stack might still pass is refused.</summary>
    private void AdoptExited(ThreadCache tc)
    {
        lock (_cachesLock)
        {
            if (!_threadCaches.Remove(tc)) return;
        }
        Volatile.Write(ref tc.Block->ThreadExited, 1);
        tc.Destroy();
    }

    /// <summary>A snapshot of the live caches, in a list kept for it (revocation works on it without holding the list's
    /// lock, and a request that fails for want of memory allocates nothing). Under <c>_revokeLock</c>.</summary>
    private List<ThreadCache> SnapshotCaches()
    {
        List<ThreadCache> snapshot = _snapshot;
        snapshot.Clear();
        lock (_cachesLock) snapshot.AddRange(_threadCaches);
        return snapshot;
    }

    nuint IThreadCacheOwner.Cookie => _cookie;

    MetadataArena IThreadCacheOwner.Arena => _arena;

    /// <summary>Called by the finalizer of an exited thread's cache set: the cache is flushed at the next slow path,
    /// purge pass or <see cref="Trim"/>.</summary>
    void IThreadCacheOwner.Orphan(ThreadCache cache)
    {
        lock (_cachesLock)
        {
            if (_disposing || !_threadCaches.Remove(cache)) return;
            _orphans.Add(cache);
            _orphanCount = _orphans.Count;
        }
    }

    /// <summary>Flushes and destroys the caches of threads that exited and were collected before a pass found them
    /// (under <c>_revokeLock</c>, like every destruction of a cache before disposal).</summary>
    private void AdoptOrphans()
    {
        lock (_revokeLock)
        {
            ThreadCache[] orphans;
            lock (_cachesLock)
            {
                if (_orphans.Count == 0 || _disposing) return;
                orphans = [.. _orphans];
                _orphans.Clear();
                _orphanCount = 0;
            }
            foreach (ThreadCache orphan in orphans)
            {
                FlushThreadCache(orphan);
                Volatile.Write(ref orphan.Block->ThreadExited, 1);
                orphan.Destroy();
            }
        }
    }

    /// <summary>On dispose: no new cache can be made from here on; every cache is disarmed for good and every call in
    /// flight on it is waited out (with no bound: that is what makes freeing the memory safe), and then the magazines
    /// are destroyed, not flushed, since the memory is going away.</summary>
    private void RetireThreadCaches()
    {
        List<ThreadCache> all;
        lock (_cachesLock)
        {
            all = [.. _threadCaches, .. _orphans];
        }
        foreach (ThreadCache tc in all)
        {
            Volatile.Write(ref tc.Block->Revoking, 1);
            Volatile.Write(ref tc.Block->Destroyed, 1);
            Volatile.Write(ref tc.Block->Owner, 0);
        }
        Interlocked.MemoryBarrierProcessWide();
        foreach (ThreadCache tc in all) ThreadCacheBlock.WaitForCalls(tc.Block, -1);
        lock (_cachesLock)
        {
            foreach (ThreadCache cache in _threadCaches) { cache.Owner = null; cache.Destroy(); }
            foreach (ThreadCache cache in _orphans) { cache.Owner = null; cache.Destroy(); }
            _threadCaches.Clear();
            _orphans.Clear();
            _orphanCount = 0;
        }
        // (The blocks stay revoked: a destroyed block is never re-armed, and may be freed once its thread lets go.)
        foreach (CpuCache cache in _cpus)
            for (int cls = 0; cls < cache.Depot.Length; cls++)
            {
                ref MagazineDepot depot = ref cache.Depot[cls];
                for (Magazine* m; (m = cache.TakeFull(cls)) != null;) Magazine.Destroy(_arena, m);
                for (Magazine* m; (m = depot.TakeEmpty()) != null;) Magazine.Destroy(_arena, m);
            }
        for (int cls = 0; cls < _table.Classes.Length; cls++)
            Magazine.DestroyChain(_arena, _sharedDepot.TakeAll(cls, out _));
    }
}
