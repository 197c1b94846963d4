using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Diagnostics;
using BuddySlab.Slab;

namespace BuddySlab;

// Sections and statistics (read under the buddy lock, so they are exact between calls), and the out-of-line
// throw sites that diagnose a bad pointer or an unusable allocator.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>Number of managed regions.</summary>
    public int SectionCount => _ready ? _buddy.SectionCount : 0;

    /// <summary>A summary of region <paramref name="index"/>.</summary>
    public ManagedSection GetSection(int index)
    {
        EnsureReady();
        _buddyLock.Enter();
        try { return _buddy.GetSection(index); }
        finally { _buddyLock.Exit(); }
    }

    /// <summary>Bytes of managed pages.</summary>
    public nuint ManagedBytes => ReadBuddy(static b => b.ManagedBytes);

    /// <summary>Bytes of pages in use, slabs included (page occupancy, not requested bytes).</summary>
    public nuint AllocatedBytes => ReadBuddy(static b => b.AllocatedBytes);

    private nuint ReadBuddy(Func<BuddyAllocator, nuint> read)
    {
        if (!_ready) return 0;
        _buddyLock.Enter();
        try { return read(_buddy); }
        finally { _buddyLock.Exit(); }
    }

    private void EnsureReady()
    {
        if (!_ready) ThrowNotReady();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotReady()
    {
        if (_disposed) ThrowHelper.Throw(AllocError.NotInitialized, "The heap has been disposed.");
        ThrowHelper.NotInitialized("global allocator");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotLive(nuint address)
    {
        if (_buddy.FindSection(address) == null) ThrowHelper.NotFound(address);
        ThrowHelper.NotAllocated(address, "is not a live allocation (already freed, or never returned by this allocator)");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowWrongClass(nuint address, nuint size, nuint alignment)
    {
        if (_buddy.FindSection(address) == null) ThrowHelper.NotFound(address);
        ThrowHelper.NotAllocated(address, $"is not an object of the size class for {size} bytes aligned to {alignment} (wrong size, or not an allocation)");
    }

    /// <summary>The secret in free marks (<c>address ^ cookie</c> in a free object's first word), for tests.</summary>
    internal nuint FreeMarkCookie => _cookie;
}
