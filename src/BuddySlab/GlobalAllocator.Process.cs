using System.Runtime.CompilerServices;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

// What a host that serves a whole process needs (a malloc replacement first): an ownership test and calls that answer
// their error instead of throwing, releasing an exiting thread's cache with no finalizer, and fork handlers.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>True when <paramref name="pointer"/> lies in a region this allocator manages, its whole reservation
    /// included (not only live blocks): a lock-free test that never throws; false before <see cref="Init"/> and after
    /// disposal. A host that shares the process with another allocator asks this before it frees.</summary>
    public bool Owns(void* pointer) => _ready && _pages.IsInRegion((nuint)pointer);

    /// <summary>As <see cref="Allocate(nuint)"/> (default alignment, the same fast path), answering false and null when
    /// out of memory, or when the allocator was disposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocate(nuint size, out void* pointer)
    {
        ThreadCacheBlock* tc = CallerBlock;
        if (TryAllocateFast(size, tc, out nuint address))
        {
            pointer = (void*)address;
            return true;
        }
        return TryAllocateAnswering(size, tc, out pointer);
    }

    /// <summary>The rest of <see cref="TryAllocate(nuint, out void*)"/>: the throwing slow paths, with their errors answered.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateAnswering(nuint size, ThreadCacheBlock* tc, out void* pointer)
    {
        try
        {
            pointer = TakesPages(size) ? AllocatePageRun(size, tc) : AllocateSlow(size, tc);
            return true;
        }
        catch (AllocatorException)
        {
            pointer = null;
            return false;
        }
        catch (ObjectDisposedException)
        {
            pointer = null;
            return false;
        }
    }

    /// <summary>As <see cref="Free(void*)"/>, answering false and the error instead of throwing (the allocator unchanged):
    /// <see cref="AllocError.NotFound"/> for a pointer outside every region, <see cref="AllocError.NotAllocated"/> for one
    /// that is no live block (a double free, an interior pointer), <see cref="AllocError.NotInitialized"/> after disposal.
    /// The common free takes the same inline path as <see cref="Free(void*)"/>, and a pointer the heap does not own is
    /// answered without an exception, so a host that shares the process with another allocator can ask this first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFree(void* pointer, out AllocError error)
    {
        ThreadCacheBlock* tc = CallerBlock;
        error = default;
        return TryFreeUnsizedFast((nuint)pointer, tc) || TryFreeAnswering(pointer, tc, out error);
    }

    /// <summary>The rest of <see cref="TryFree"/>: a pointer outside every region answered at once, anything else through
    /// the throwing slow path with its error answered.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryFreeAnswering(void* pointer, ThreadCacheBlock* tc, out AllocError error)
    {
        if (pointer != null && !Owns(pointer))
        {
            error = _ready ? AllocError.NotFound : AllocError.NotInitialized;
            return false;
        }
        try
        {
            FreeSlow(pointer, tc);
            error = default;
            return true;
        }
        catch (AllocatorException e)
        {
            error = e.Error;
            return false;
        }
        catch (ObjectDisposedException)
        {
            error = AllocError.NotInitialized;
            return false;
        }
    }

    /// <summary>As <see cref="Reallocate"/>, answering false and the error instead of throwing; on failure
    /// <paramref name="pointer"/> stays valid and unchanged, and <paramref name="moved"/> is null.</summary>
    public bool TryReallocate(void* pointer, nuint newSize, out void* moved, out AllocError error)
    {
        try
        {
            moved = Reallocate(pointer, newSize);
            error = default;
            return true;
        }
        catch (AllocatorException e)
        {
            moved = null;
            error = e.Error;
            return false;
        }
        catch (ObjectDisposedException)
        {
            moved = null;
            error = AllocError.NotInitialized;
            return false;
        }
    }

    /// <summary>As <see cref="UsableSize"/>, answering false and the error instead of throwing.</summary>
    public bool TryUsableSize(void* pointer, out nuint size, out AllocError error)
    {
        try
        {
            size = UsableSize(pointer);
            error = default;
            return true;
        }
        catch (AllocatorException e)
        {
            size = 0;
            error = e.Error;
            return false;
        }
        catch (ObjectDisposedException)
        {
            size = 0;
            error = AllocError.NotInitialized;
            return false;
        }
    }

    /// <summary>Gives the calling thread's cache of this allocator back at once: its magazines and page runs flushed to
    /// the heap, the cache destroyed and forgotten, with no finalizer and no purge pass needed. For a thread about to
    /// exit (a native thread's exit hook); if the thread calls again, it simply gets a new cache. Its
    /// <see cref="ThreadHeap"/>, if it took one, must not be used afterwards. Never throws: on a heap being disposed it
    /// does nothing (the disposal destroys the cache).</summary>
    public void ReleaseThreadCache()
    {
        if (!_ready || !_useThreadCaches || t_caches is not { } set || set.Find(this) is not { } tc) return;
        // Counted like a cache in the making: Dispose waits for it before the pages under the cache go.
        Interlocked.Increment(ref _outsideCalls);
        try
        {
            if (_disposing) return;                         // Dispose destroys it
            ThreadCache? call;
            try { call = EnterCall(); }
            catch (ObjectDisposedException) { return; }     // Dispose began meanwhile: it destroys the cache
            try { FlushThreadCache(tc); }
            finally { ExitCall(call); }
            lock (_revokeLock)
            {
                lock (_cachesLock)
                {
                    if (!_threadCaches.Remove(tc)) return;  // taken over already (a pass that found it idle)
                }
                Volatile.Write(ref tc.Block->Destroyed, 1);
                tc.Destroy();
            }
        }
        finally { Interlocked.Decrement(ref _outsideCalls); }
        set.Caches.Remove(tc);
        if (t_cache == tc) t_cache = null;
        if (LastBlock.Value == (nint)tc.Block) LastBlock.Value = 0;
        bool handleOut = t_handles is { } handles && handles.Exists(h => h.Allocator == this);
        if (!handleOut)
        {
            tc.ReleaseBlock();                              // the thread's own let-go: the block is freed now
            return;
        }
        tc.Owner = null;                                    // no longer this allocator's: the thread's next call makes a new one
        set.Caches.Add(tc);                                 // a handle holds the block: its set's finalizer lets go
    }

    /// <summary>Before <c>fork</c>: takes every lock of the allocator, in the one order any code takes them (pass,
    /// revocation, growth, thread-cache list, each cache's exchange lock, the shared depot's shelves, the CPUs by index,
    /// the metadata arena, the buddy), so that no other thread holds one when the process is copied. Follow with
    /// <see cref="UnlockAfterFork"/> in both processes.</summary>
    internal void LockForFork()
    {
        BackgroundClock.LockForFork();
        _passLock.Enter();
        _revokeLock.Enter();
        if (!_ready) return;
        _pages.LockForFork(growth: true);
        _cachesLock.Enter();
        foreach (ThreadCache tc in _threadCaches) tc.ExchangeLock.Enter();
        foreach (ThreadCache tc in _orphans) tc.ExchangeLock.Enter();
        _sharedDepot.LockAll();
        foreach (CpuCache cache in _cpus) cache.Lock.Enter();
        _arena.LockForFork();
        _pages.LockForFork(growth: false);
    }

    /// <summary>After <c>fork</c>, in the parent or (<paramref name="child"/>) the child: lets go of what
    /// <see cref="LockForFork"/> took. In the child, where only the forking thread exists, the caches of every other
    /// thread are flushed back to the heap and destroyed, and the background clock starts again.</summary>
    internal void UnlockAfterFork(bool child)
    {
        if (_ready)
        {
            _pages.UnlockAfterFork(growth: false);
            _arena.UnlockAfterFork();
            foreach (CpuCache cache in _cpus) cache.Lock.Exit();
            _sharedDepot.UnlockAll();
            foreach (ThreadCache tc in _orphans) tc.ExchangeLock.Exit();
            foreach (ThreadCache tc in _threadCaches) tc.ExchangeLock.Exit();
            _cachesLock.Exit();
            _pages.UnlockAfterFork(growth: true);
        }
        _revokeLock.Exit();
        _passLock.Exit();
        BackgroundClock.UnlockAfterFork(child);
        if (!child || !_ready || !_useThreadCaches) return;
        ThreadCache? own = t_cache is { } mine && mine.Owner == this ? mine : null;
        lock (_revokeLock)
        {
            foreach (ThreadCache tc in SnapshotCaches())
            {
                if (tc == own) continue;
                // Its thread is gone: no call can be in flight on it any more, whatever its mark says.
                Volatile.Write(ref tc.Block->Owner, 0);
                FlushThreadCache(tc);
                Volatile.Write(ref tc.Block->Destroyed, 1);
                AdoptExited(tc);
            }
        }
    }
}
