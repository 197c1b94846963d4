namespace BuddySlab.Tests.Caches;

/// <summary>Each thread's stacks of free page runs of 1 to 16 pages: reuse without a lock, limits, safety, and recovery.</summary>
public unsafe class ThreadRunCacheTests : IDisposable
{
    private readonly GlobalHarness _h = new(bytes: 64 << 20);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void AFreedSmallRunIsTheNextOneOfItsLengthAndCountsAsAllocatedUntilTrimmed()
    {
        void* a = A.Allocate(4096);                         // one page
        void* b = A.Allocate(10000);                        // three pages
        nuint live = A.AllocatedBytes;
        A.Free(a);
        A.Free(b, 10000, 16);
        Assert.Equal(live, A.AllocatedBytes);               // parked on this thread, still counted
        Assert.Equal((nint)b, (nint)A.Allocate(9000));
        Assert.Equal((nint)a, (nint)A.Allocate(4096));
        Assert.Equal((nuint)4096, A.UsableSize(a));
        A.Free(a);
        A.Free(b);
        nuint page = A.AllocatePages(1, 4096);              // the page API shares the stacks
        Assert.Equal((nint)a, (nint)page);
        A.FreePages(page, 1);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ASecondFreeOfAParkedRunIsRefusedAndChangesNothing()
    {
        byte* p = (byte*)A.Allocate(8192);
        void* keep = A.Allocate(8192);
        A.Free(p);
        nuint allocated = A.AllocatedBytes;
        foreach (Action bad in new Action[] { () => A.Free(p), () => A.Free(p, 8192, 16), () => A.FreePages((nuint)p, 2), () => A.UsableSize(p), () => A.Reallocate(p, 100) })
        {
            var e = Assert.Throws<AllocatorException>(bad);
            Assert.Equal(AllocError.NotAllocated, e.Error);
        }
        Assert.Equal(allocated, A.AllocatedBytes);
        Assert.Equal((nint)p, (nint)A.Allocate(8192));      // still parked exactly once
        Assert.NotEqual((nint)p, (nint)A.Allocate(8192));
        A.Free(keep);
    }

    [Fact]
    public void APageFreeThatDoesNotNameALiveRunExactlyIsRefusedBeforeItReachesTheStack()
    {
        nuint run = A.AllocatePages(3, 4096);
        nuint other = A.AllocatePages(3, 4096);
        A.FreePages(other, 3);                              // the stack of 3-page runs now holds one run
        nuint allocated = A.AllocatedBytes;
        foreach (Action bad in new Action[]
        {
            () => A.FreePages(run, 2),                      // the wrong length, shorter
            () => A.FreePages(run, 4),                      // and longer
            () => A.FreePages(run + 4096, 1),               // an interior page
            () => A.FreePages(run + 8, 3),                  // not page-aligned
            () => A.FreePages(other, 3),                    // already parked
        })
        {
            Assert.Throws<AllocatorException>(bad);
        }
        Assert.Equal(allocated, A.AllocatedBytes);
        Assert.Equal((nint)other, (nint)A.AllocatePages(3, 4096));   // the stack still holds the one run, once
        nuint fresh = A.AllocatePages(3, 4096);
        Assert.NotEqual(other, fresh);
        A.FreePages(run, 3);
        A.FreePages(other, 3);
        A.FreePages(fresh, 3);
        A.FlushThreadCache();
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void AFullStackSpillsToTheCpuCacheAndEveryRunComesBack()
    {
        var runs = Enumerable.Range(0, 40).Select(i => (nint)A.Allocate((nuint)(4096 * (1 + i % 4) - 100))).ToList();
        Assert.Equal(40, runs.Distinct().Count());
        foreach (nint p in runs) A.Free((void*)p);
        var again = Enumerable.Range(0, 40).Select(i => (nint)A.Allocate((nuint)(4096 * (1 + i % 4) - 100))).ToList();
        Assert.Equal(40, again.Distinct().Count());
        Assert.True(again.Count(runs.Contains) >= 32, "runs come back from the thread's stacks and the CPU's cache");
        foreach (nint p in again) A.Free((void*)p);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void AStackHoldsSixteenRunsOfUpTo8PagesAndAtMost128PagesOfLongerOnes()
    {
        Assert.Equal([16, 16, 16, 16, 16, 16, 16, 16, 14, 12, 11, 10, 9, 9, 8, 8], Enumerable.Range(1, 16).Select(RunStack.LimitFor));
        Assert.Equal(1554, Enumerable.Range(1, RunStack.MaxPages).Sum(n => n * RunStack.LimitFor(n)));   // pages a thread parks at most
    }

    [Theory]
    [InlineData(16)]
    [InlineData(9)]
    [InlineData(5)]
    public void AFullStackOfLongRunsSpillsItsOlderHalfToTheCpuCache(int pages)
    {
        using var h = new GlobalHarness(bytes: 16 << 20);
        GlobalAllocator a = h.Allocator;
        int limit = RunStack.LimitFor(pages);
        int whenFull = -1, afterSpill = -1;
        nuint live = 0, parked = 0, back = 0;
        var runs = new nuint[limit + 1];
        var t = new Thread(() =>
        {
            for (int i = 0; i <= limit; i++) runs[i] = a.AllocatePages((nuint)pages, 4096);
            live = a.AllocatedBytes;
            for (int i = 0; i < limit; i++) a.FreePages(runs[i], (nuint)pages);
            whenFull = a.Cpu(0).Pages.Count(pages) + a.Cpu(1).Pages.Count(pages);
            a.FreePages(runs[limit], (nuint)pages);
            afterSpill = a.Cpu(0).Pages.Count(pages) + a.Cpu(1).Pages.Count(pages);
            parked = a.AllocatedBytes;
            back = a.AllocatePages((nuint)pages, 4096);
            a.FreePages(back, (nuint)pages);
            a.FlushThreadCache();
        });
        t.Start();
        t.Join();
        Assert.Equal(0, whenFull);
        Assert.Equal(limit / 2, afterSpill);
        Assert.Equal(live, parked);                                  // parked, still counted
        Assert.Equal((nint)runs[limit], (nint)back);                 // the newest comes back first
        h.AssertAllPagesBack();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AThreadThatOnlyTakesPagesParksItsSmallRunsOnItsOwnStack(bool threadCaches)
    {
        using var h = new GlobalHarness(bytes: 16 << 20, threadCaches: threadCaches);
        GlobalAllocator a = h.Allocator;
        int inCpuCaches = -1, afterFlush = -1;
        nuint parked = 0, again = 0, run = 0;
        var t = new Thread(() =>
        {
            run = a.AllocatePages(3, 4096);
            a.FreePages(run, 3);
            inCpuCaches = a.Cpu(0).Pages.Count(3) + a.Cpu(1).Pages.Count(3);
            parked = a.AllocatedBytes;
            again = a.AllocatePages(3, 4096);
            a.FreePages(again, 3);
            a.FlushThreadCache();
            afterFlush = a.Cpu(0).Pages.Count(3) + a.Cpu(1).Pages.Count(3);
        });
        t.Start();
        t.Join();
        Assert.Equal(threadCaches ? 0 : 1, inCpuCaches);    // with thread caches, on the thread's stack; else in the CPU's cache
        Assert.Equal(3u * 4096, parked);                     // parked either way, still counted
        Assert.Equal((nint)run, (nint)again);
        Assert.Equal(1, afterFlush);
        h.AssertAllPagesBack();
    }

    [Fact]
    public void RunsParkedByAThreadThatExitedAreRecovered()
    {
        var t = new Thread(() =>
        {
            var runs = Enumerable.Range(0, 12).Select(_ => (nint)A.Allocate(7000)).ToList();
            foreach (nint p in runs) A.Free((void*)p);
        });
        t.Start();
        t.Join();
        ExitedThreads.RecoverCachesAndTrim(A);
        Assert.Equal((nuint)0, A.AllocatedBytes);
        BuddyInspector.CheckInvariants(A.Buddy);
    }

    [Fact]
    public void RunsAThreadDidNotNeedForAWholeIntervalMoveToTheCpuCache()
    {
        A.PurgeIntervalMilliseconds = 100;
        _h.On(0);
        var runs = Enumerable.Range(0, 6).Select(_ => A.AllocatePages(2, 4096)).ToList();
        foreach (nuint run in runs) A.FreePages(run, 2);   // six 2-page runs parked on this thread's stack
        Assert.Equal(0, A.Cpu(0).Pages.Count(2));

        nuint used = A.AllocatePages(2, 4096);               // five at the lowest this interval
        A.FreePages(used, 2);
        Thread.Sleep(150);
        A.FreePages(A.AllocatePages(3, 4096), 3);            // a slow path after the interval: the first reap marks the stacks
        Assert.Equal(0, A.Cpu(0).Pages.Count(2));
        Assert.Equal(used, A.AllocatePages(2, 4096));        // the newest is taken and given back: 5 held at the lowest
        A.FreePages(used, 2);
        Thread.Sleep(150);
        A.FreePages(A.AllocatePages(4, 4096), 4);            // the next reap: the 5 oldest go to the CPU, the newest stays
        Assert.Equal(5, A.Cpu(0).Pages.Count(2));
        Assert.Equal(used, A.AllocatePages(2, 4096));
        A.FreePages(used, 2);
        _h.AssertAllPagesBack();
    }
}
