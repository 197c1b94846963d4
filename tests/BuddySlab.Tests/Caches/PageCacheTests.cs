namespace BuddySlab.Tests.Caches;

/// <summary>The per-CPU caches of page runs, with no thread stacks in front of them (<see cref="ThreadRunCacheTests"/> covers those).</summary>
public unsafe class PageCacheTests : IDisposable
{
    private const int Page = 4096;
    private readonly GlobalHarness _h = new(bytes: 64 << 20, threadCaches: false);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData(9)]
    [InlineData(13)]
    [InlineData(16)]
    public void RunsUpTo16PagesWaitInTheCpuCacheAndASecondFreeIsRefused(int pages)
    {
        nuint before = A.AllocatedBytes;
        nuint p = A.AllocatePages((nuint)pages, Page);
        A.FreePages(p, (nuint)pages);
        Assert.Equal(before + (nuint)pages * Page, A.AllocatedBytes);          // parked, still counted
        Assert.Equal(PageFlags.Allocated, A.Buddy.GetPageFlags(p));
        var e = Assert.Throws<AllocatorException>(() => A.FreePages(p, (nuint)pages));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.Equal((nint)p, (nint)A.AllocatePages((nuint)pages, Page));      // the cached run comes back
        A.FreePages(p, (nuint)pages);
        A.Trim();
        Assert.Equal(before, A.AllocatedBytes);
        Assert.Equal(PageFlags.Free, A.Buddy.GetPageFlags(p));
    }

    [Fact]
    public void RunsOver16PagesGoStraightBack()
    {
        nuint before = A.AllocatedBytes;
        nuint p = A.AllocatePages(17, Page);
        A.FreePages(p, 17);
        Assert.Equal(before, A.AllocatedBytes);
        Assert.Equal(PageFlags.Free, A.Buddy.GetPageFlags(p));
    }

    [Fact]
    public void AFreeIntoAFullCacheKeepsTheFreedRunAndReturnsTheOldest()
    {
        _h.On(0);
        int capacity = PageRunCache.Capacity(16, Page);
        nuint before = A.AllocatedBytes;
        var runs = Enumerable.Range(0, capacity + 2).Select(_ => A.AllocatePages(16, Page)).ToArray();
        foreach (nuint r in runs) A.FreePages(r, 16);
        Assert.Equal(before + (nuint)(capacity * 16 * Page), A.AllocatedBytes);
        Assert.Equal(PageFlags.Free, A.Buddy.GetPageFlags(runs[0]));          // the two oldest went to the buddy
        Assert.Equal(PageFlags.Free, A.Buddy.GetPageFlags(runs[1]));
        Assert.Equal(capacity, A.Cpu(0).Pages.Count(16));
        Assert.Equal((nint)runs[^1], (nint)A.AllocatePages(16, Page));        // the newest comes back first
        Assert.Equal((nint)runs[^2], (nint)A.AllocatePages(16, Page));
        A.FreePages(runs[^1], 16);
        A.FreePages(runs[^2], 16);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void EachCpuKeepsItsOwnRuns()
    {
        nuint p = A.AllocatePages(12, Page);
        _h.On(1);
        A.FreePages(p, 12);
        Assert.Equal(1, A.Cpu(1).Pages.Count(12));
        _h.On(0);
        nuint q = A.AllocatePages(12, Page);
        Assert.NotEqual(p, q);                                                 // CPU 0 has none: a fresh run
        Assert.Equal(1, A.Cpu(1).Pages.Count(12));
        A.FreePages(q, 12);
        _h.AssertAllPagesBack();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(12288)]
    public void ABadAlignmentIsRefusedEvenWhenARunIsCached(int alignment)
    {
        nuint p = A.AllocatePages(2, Page);
        A.FreePages(p, 2);
        var e = Assert.Throws<AllocatorException>(() => A.AllocatePages(2, (nuint)alignment));
        Assert.Equal(AllocError.InvalidParam, e.Error);
        Assert.Equal((nint)p, (nint)A.AllocatePages(2, Page));                 // the cached run is still there
        A.FreePages(p, 2);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ACachedRunLessAlignedThanAskedStaysCachedAndAnAlignedRunComesFromTheBuddy()
    {
        var kept = new List<nuint>();
        nuint odd;
        while ((odd = A.AllocatePages(5, Page)) % (16 * Page) == 0) kept.Add(odd);   // runs until one is not 16-page aligned
        A.FreePages(odd, 5);
        nuint aligned = A.AllocatePages(5, 16 * Page);
        Assert.Equal((nuint)0, aligned % (16 * Page));
        Assert.Equal(1, A.Cpu(0).Pages.Count(5) + A.Cpu(1).Pages.Count(5));
        A.FreePages(aligned, 5);
        foreach (nuint p in kept) A.FreePages(p, 5);
        _h.AssertAllPagesBack();
    }
}
