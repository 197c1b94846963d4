using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using BuddySlab.Slab;

namespace BuddySlab.Caches;

/// <summary>
/// The part of a <see cref="ThreadCache"/> the fast paths read, in native memory: the owner's token, the loaded
/// magazine of each class and the page-run stacks. A thread finds its block through a thread-static <c>nint</c>,
/// which the JIT reads at a fixed offset from the thread's TLS area (and can lift finding that area out of a loop); a
/// thread-static object reference costs that and three dependent loads more on every use.
/// <para><b>Lifetime.</b> The block outlives both of its users: the thread (whose thread-static may point at it
/// until the thread exits) and the allocator (which uses it until it destroys the cache, after the thread exited or
/// when the allocator is disposed). Each lets go once through <see cref="ThreadCache.ReleaseBlock"/>; the second
/// frees it. Until then a fast path on a destroyed cache reads <see cref="Owner"/> 0 and misses.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadCacheBlock
{
    public nint Owner;                  // the owning allocator's token (never 0); 0 once the allocator destroyed the cache
    public nint Cache;                  // weak GCHandle to the managed ThreadCache, for the slow paths
    public RunStack* Runs;              // free page runs of 1..RunStack.MaxPages pages, by length - 1
    public long NextRunPurge;           // when the thread's own slow paths next purge its run stacks (tick count)
    public fixed ulong Loaded[SizeClassTable.ClassCount];   // Magazine* per class

    /// <summary>The loaded magazine of class <paramref name="cls"/> (a class index of the table: not bounds-checked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Magazine* LoadedOf(int cls) => (Magazine*)Loaded[cls];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetLoaded(int cls, Magazine* magazine) => Loaded[cls] = (ulong)magazine;

    /// <summary>The managed cache this block belongs to (cold paths only).</summary>
    public readonly ThreadCache ManagedCache => (ThreadCache)GCHandle.FromIntPtr(Cache).Target!;
}
