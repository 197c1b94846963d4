using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Slab;

namespace BuddySlab.Caches;

/// <summary>
/// The part of a <see cref="ThreadCache"/> the fast paths read, in native memory: the owner's token, the loaded
/// magazine of each class and the page-run stacks. A thread finds its block through a thread-static <c>nint</c>,
/// which the JIT reads at a fixed offset from the thread's TLS area (and can lift finding that area out of a loop); a
/// thread-static object reference costs that and three dependent loads more on every use.
/// <para><b>Calls in flight.</b> Every call marks the block it works through: <see cref="InCall"/> is set before the
/// call reads <see cref="Owner"/> and cleared when it is done, with plain stores (the fast paths add two stores and no
/// atomic). Another thread that must know no call is using a cache (to flush it, or to free the allocator's memory)
/// first clears <see cref="Owner"/> (<see cref="TryRevoke"/>), then issues a process-wide memory barrier, then waits for
/// <see cref="InCall"/> to read 0: a call that read the old owner had set <see cref="InCall"/> before, and the barrier
/// makes that store visible; a call that starts later reads <see cref="Owner"/> 0 and takes the slow path, which waits
/// for the revocation to finish (<see cref="Revoking"/>) before it re-arms the block (<see cref="TryRearm"/>).</para>
/// <para><b>Lifetime.</b> The block outlives both of its users: the thread (whose thread-static may point at it
/// until the thread exits) and the allocator (which uses it until it destroys the cache, after the thread exited or
/// when the allocator is disposed). Each lets go once through <see cref="ThreadCache.ReleaseBlock"/>; the second
/// frees it. Until then a fast path on a destroyed cache reads <see cref="Owner"/> 0 and misses.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadCacheBlock
{
    public nint Owner;                  // the owning allocator's token (never 0) while armed; 0 while revoked or destroyed
    public int InCall;                  // 1 while a call of the owning thread works through this block
    public int Revoking;                // 1 while another thread revokes and flushes this cache
    public nint Cache;                  // weak GCHandle to the managed ThreadCache, for the slow paths
    public RunStack* Runs;              // free page runs of 1..RunStack.MaxPages pages, by length - 1
    public long NextRunPurge;           // when the thread's own slow paths next purge its run stacks (tick count)
    public long SeenPass;               // the allocator's purge pass when the thread last took a slow path
    public int Destroyed;               // 1 once the allocator destroyed the cache: never re-armed
    public int ThreadExited;            // 1 once the allocator took the cache over because its thread exited
    public fixed ulong Loaded[SizeClassTable.ClassCount];   // Magazine* per class

    /// <summary>The loaded magazine of class <paramref name="cls"/> (a class index of the table: not bounds-checked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Magazine* LoadedOf(int cls) => (Magazine*)Loaded[cls];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetLoaded(int cls, Magazine* magazine) => Loaded[cls] = (ulong)magazine;

    /// <summary>The managed cache this block belongs to (cold paths only).</summary>
    public readonly ThreadCache ManagedCache => (ThreadCache)GCHandle.FromIntPtr(Cache).Target!;

    /// <summary>Marks a call in flight, then answers whether the block is armed for <paramref name="token"/>: the order
    /// of the store and the load is what lets a revoker's barrier see the call (see the type's comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Enter(ThreadCacheBlock* b, nint token)
    {
        Volatile.Write(ref b->InCall, 1);
        return Volatile.Read(ref b->Owner) == token;
    }

    /// <summary>Ends a call in flight: everything the call did is visible before the mark clears.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exit(ThreadCacheBlock* b) => Volatile.Write(ref b->InCall, 0);

    /// <summary>Disarms the block for <paramref name="token"/>, so calls that start from now on take the slow path and
    /// wait; false when it was not armed (revoked or destroyed already). The caller then issues a process-wide barrier,
    /// waits for <see cref="InCall"/> to clear, flushes, and ends with <see cref="EndRevoke"/>.</summary>
    public static bool TryRevoke(ThreadCacheBlock* b, nint token)
    {
        Volatile.Write(ref b->Revoking, 1);
        if (Interlocked.CompareExchange(ref b->Owner, 0, token) == token) return true;
        Volatile.Write(ref b->Revoking, 0);
        return false;
    }

    /// <summary>Ends a revocation: the owner's next slow path may re-arm the block.</summary>
    public static void EndRevoke(ThreadCacheBlock* b) => Volatile.Write(ref b->Revoking, 0);

    /// <summary>Waits (spinning, then yielding) until no call is in flight on the block, for at most
    /// <paramref name="spins"/> rounds (unbounded when negative); false when the wait ran out.</summary>
    public static bool WaitForCalls(ThreadCacheBlock* b, int spins)
    {
        var wait = new SpinWait();
        for (int i = 0; spins < 0 || i < spins; i++)
        {
            if (Volatile.Read(ref b->InCall) == 0) return true;
            wait.SpinOnce(sleep1Threshold: -1);
        }
        return Volatile.Read(ref b->InCall) == 0;
    }

    /// <summary>Re-arms a revoked block for its own thread, once any revocation in progress has ended; false when the
    /// block was destroyed (it is never re-armed then).</summary>
    public static bool TryRearm(ThreadCacheBlock* b, nint token)
    {
        var wait = new SpinWait();
        while (Volatile.Read(ref b->Revoking) != 0)
        {
            if (Volatile.Read(ref b->Destroyed) != 0) return false;
            wait.SpinOnce(sleep1Threshold: -1);
        }
        if (Volatile.Read(ref b->Destroyed) != 0) return false;
        Interlocked.CompareExchange(ref b->Owner, token, 0);
        return true;
    }
}
