namespace BuddySlab.Tests.Allocator;

/// <summary>
/// A second free of an object that sits in <i>another</i> live thread's magazine (or in a depot that thread's magazine
/// went to) is refused on the freeing thread, and neither thread ever gets the object twice.
/// </summary>
public unsafe class CrossThreadDoubleFreeTests : IDisposable
{
    private readonly GlobalHarness _h = new();
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    /// <summary>The owner frees <c>p</c> first and then <paramref name="moreFrees"/> other objects of its class: with
    /// none, <c>p</c> stays in its loaded magazine; with more, that magazine becomes the previous one or goes to a depot.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(130)]
    [InlineData(1000)]
    public void AnObjectInAnotherThreadsMagazineIsRefused(int moreFrees)
    {
        nuint p = 0;
        var others = new nuint[moreFrees];
        using var freed = new ManualResetEventSlim();
        using var checkedByMain = new ManualResetEventSlim();
        nuint again = 0;
        var owner = new Thread(() =>
        {
            p = (nuint)A.Allocate(100);
            for (int i = 0; i < others.Length; i++) others[i] = (nuint)A.Allocate(100);
            A.Free((void*)p);
            foreach (nuint o in others) A.Free((void*)o);
            freed.Set();
            checkedByMain.Wait();
            // The owner still has p exactly once: taking back as many objects as it freed yields p once.
            var back = new HashSet<nuint>();
            for (int i = 0; i <= others.Length; i++) Assert.True(back.Add((nuint)A.Allocate(100)));
            again = back.Contains(p) ? p : 0;
            foreach (nuint b in back) A.Free((void*)b);
            A.FlushThreadCache();
        });
        owner.Start();
        freed.Wait();

        nuint before = A.AllocatedBytes;
        foreach (Action call in new Action[] { () => A.Free((void*)p), () => A.Free((void*)p, 100, 16), () => A.UsableSize((void*)p) })
        {
            var e = Assert.Throws<AllocatorException>(call);
            Assert.Equal(AllocError.NotAllocated, e.Error);
            Assert.Contains($"0x{p:x}", e.Message);
            Assert.Contains("double free", e.Message);
        }
        Assert.Equal(before, A.AllocatedBytes);
        checkedByMain.Set();
        owner.Join();

        if (moreFrees == 0) Assert.Equal(p, again);     // still the top of the owner's magazine
        // The refused frees put nothing in this thread's magazines: everything comes back.
        _h.AssertAllPagesBack();
    }
}
