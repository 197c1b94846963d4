using BuddySlab.Buddy;
using BuddySlab.Caches;

namespace BuddySlab;

// Sections and statistics (read under the buddy lock, so they are exact between calls), and what tests read of the
// allocator's inside.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>Number of managed regions.</summary>
    public int SectionCount => _ready ? _pages.SectionCount : 0;

    /// <summary>A summary of region <paramref name="index"/>.</summary>
    public ManagedSection GetSection(int index)
    {
        ThreadCache? tc = EnterCall();
        try { return _pages.GetSection(index); }
        finally { ExitCall(tc); }
    }

    /// <summary>Bytes of managed pages.</summary>
    public nuint ManagedBytes => _ready ? _pages.ManagedBytes : 0;

    /// <summary>Bytes of pages in use, slabs included (page occupancy, not requested bytes).</summary>
    public nuint AllocatedBytes => _ready ? _pages.AllocatedBytes : 0;

    /// <summary>Bytes that caches hold inside <see cref="AllocatedBytes"/>: objects in threads' magazines and in the
    /// depots, page runs on threads' stacks and in the CPUs' page caches, and the CPUs' cached empty slabs. What is left,
    /// <c>AllocatedBytes - CachedBytes</c>, is the live blocks plus the free slots of partly used slabs and the slabs'
    /// headers. Read cache by cache under each cache's lock: exact between calls, approximate while other threads run.</summary>
    public nuint CachedBytes
    {
        get
        {
            ThreadCache? call = EnterCall();
            try
            {
                long bytes = 0;
                if (_useThreadCaches)
                    lock (_revokeLock)                  // no cache is destroyed while it is read
                        foreach (ThreadCache tc in SnapshotCaches()) bytes += tc.CachedBytes(_pageSize);
                bytes += _sharedDepot.CachedBytes;
                foreach (CpuCache cache in _cpus)
                {
                    cache.Lock.Enter();
                    bytes += cache.DepotBytes + cache.Pages.CachedBytes + (long)cache.Slabs.CachedEmptySlabBytes;
                    cache.Lock.Exit();
                }
                return (nuint)bytes;
            }
            finally { ExitCall(call); }
        }
    }

    /// <summary>What the depots and page caches may hold together until the next purge pass, and what they hold now.</summary>
    internal (long Limit, long Held) CacheBudgetBytes => (_budget.LimitBytes, _budget.HeldBytes);

    /// <summary>Full magazines on the shared depot's shelf of <paramref name="cls"/> (for tests).</summary>
    internal int SharedDepotFullCount(int cls) => _sharedDepot.FullCount(cls);

    /// <summary>The secret in free marks (<c>address ^ cookie</c> in a free object's first word), for tests.</summary>
    internal nuint FreeMarkCookie => _cookie;
}
