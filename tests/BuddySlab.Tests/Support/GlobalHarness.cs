namespace BuddySlab.Tests.Support;

/// <summary>A <see cref="GlobalAllocator"/> over one test region, with a platform whose CPU the test controls.</summary>
internal sealed unsafe class GlobalHarness : IDisposable
{
    private readonly NativeRegion _region;

    public GlobalHarness(nuint bytes = 32 << 20, int cpus = 2, bool threadCaches = true)
    {
        _region = new NativeRegion(bytes);
        Platform = new TestPlatform(cpus);
        Allocator = new GlobalAllocator { ThreadCaches = threadCaches };
        Allocator.Init(_region.Pointer, _region.Size, Platform);
        StartAllocatedBytes = Allocator.AllocatedBytes;
    }

    public GlobalAllocator Allocator { get; }
    public TestPlatform Platform { get; }
    public nuint StartAllocatedBytes { get; }
    public NativeRegion Region => _region;

    /// <summary>Runs the following calls as CPU <paramref name="cpu"/> (for threads that have not chosen their own).</summary>
    public GlobalHarness On(int cpu)
    {
        Platform.DefaultProcessor = cpu;
        return this;
    }

    /// <summary>After freeing everything: trimming gives every page back.</summary>
    public void AssertAllPagesBack()
    {
        Allocator.Trim();
        Assert.Equal((nuint)0, Allocator.AllocatedBytes);
        BuddyInspector.CheckInvariants(Allocator.Buddy);
    }

    /// <summary>Marks the allocator disposed (waiting out any call still in it, as a native heap's Dispose does), then
    /// frees the region under it: a thread cache the tests left behind can no longer reach freed memory.</summary>
    public void Dispose()
    {
        Allocator.MarkDisposed();
        _region.Dispose();
    }
}
