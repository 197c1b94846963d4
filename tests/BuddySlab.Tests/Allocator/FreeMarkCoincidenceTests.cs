using BuddySlab.Caches;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// A live object's first word is the program's to write: when it happens to equal one of the allocator's own marks (the
/// free mark, or the mark of an object on its way from a magazine to its slab), the free checks the object and goes on.
/// It never waits for a flush that is not happening.
/// </summary>
public unsafe class FreeMarkCoincidenceTests : IDisposable
{
    private readonly GlobalHarness _h = new(cpus: 2);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    private nuint Cookie => ((IThreadCacheOwner)A).Cookie;

    [Theory]
    [InlineData(32, false)]
    [InlineData(32, true)]
    [InlineData(64, false)]
    [InlineData(1024, true)]
    public void AnObjectWhoseDataReadsAsTheTransitMarkIsFreedAndHandedOutOnce(int size, bool sized)
    {
        var objects = new List<nint>();
        for (int i = 0; i < 300; i++) objects.Add((nint)A.Allocate((nuint)size));
        // Every object's first word holds what the transit mark would be for it, as the program's own data.
        foreach (nint p in objects) *(nuint*)p = Magazine.TransitMark((nuint)p, Cookie);
        Within(() =>
        {
            foreach (nint p in objects)
            {
                if (sized) A.Free((void*)p, (nuint)size, INativeAllocator.DefaultAlignment((nuint)size));
                else A.Free((void*)p);
            }
        });
        // Each came back once: allocating as many again gives each address at most once.
        var again = new HashSet<nint>();
        for (int i = 0; i < objects.Count; i++) Assert.True(again.Add((nint)A.Allocate((nuint)size)));
        foreach (nint p in again) A.Free((void*)p);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ASecondFreeOfAnObjectWhoseDataReadsAsTheTransitMarkIsStillRefused()
    {
        nint p = (nint)A.Allocate(48);
        *(nuint*)p = Magazine.TransitMark((nuint)p, Cookie);
        Within(() =>
        {
            A.Free((void*)p);
            Assert.Throws<AllocatorException>(() => A.Free((void*)p));
        });
        _h.AssertAllPagesBack();
    }

    /// <summary>Runs <paramref name="frees"/> on a thread of its own and fails if it has not ended within 30 s (a free
    /// that waits for a flush that is not happening would never end).</summary>
    private static void Within(Action frees)
    {
        Assert.True(SeparateThread.Run(frees, TimeSpan.FromSeconds(30), out Exception? failure), "a free waited for a flush that was not happening");
        Assert.Null(failure);
    }
}
