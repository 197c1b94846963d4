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

    /// <summary>Full magazines on the shared depot's shelf of <paramref name="cls"/> (for tests).</summary>
    internal int SharedDepotFullCount(int cls) => _sharedDepot.FullCount(cls);

    /// <summary>The secret in free marks (<c>address ^ cookie</c> in a free object's first word), for tests.</summary>
    internal nuint FreeMarkCookie => _cookie;
}
