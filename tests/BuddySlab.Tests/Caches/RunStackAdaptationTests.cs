namespace BuddySlab.Tests.Caches;

/// <summary>
/// How much a thread's run stacks hold follows what the thread does with a length: a thread that only frees it (the
/// reading end of a pipe) parks a small batch, a thread that takes it again grows back to the full stack, and a thread
/// whose CPU has none of a length finds the runs another CPU's cache holds.
/// </summary>
public unsafe class RunStackAdaptationTests
{
    private const int PageSize = 4096;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    public void AThreadThatOnlyFreesALengthParksAtMostABatchOfIt(int pages)
    {
        using var h = new GlobalHarness(bytes: 32 << 20);
        GlobalAllocator a = h.Allocator;
        const int Runs = 203;
        var runs = new nuint[Runs];
        Run(() =>
        {
            for (int i = 0; i < Runs; i++) runs[i] = a.AllocatePages((nuint)pages, PageSize);
        });
        nuint parked = 0;
        Run(() =>
        {
            foreach (nuint run in runs) a.FreePages(run, (nuint)pages);
            parked = a.GetStatistics().Caches.ThreadRunBytes;   // the allocating thread's stacks are empty
            a.FlushThreadCache();
        });
        Assert.True(parked <= (nuint)(RunStack.MinLimitFor(pages) * pages * PageSize),
            $"a thread that only frees {pages}-page runs parks {parked / PageSize} pages of them");
        Assert.True(parked > 0);
        h.AssertAllPagesBack();
    }

    [Fact]
    public void AThreadThatTakesWhatItFreesKeepsItsWholeStack()
    {
        using var h = new GlobalHarness(bytes: 16 << 20);
        GlobalAllocator a = h.Allocator;
        int limit = RunStack.LimitFor(1);
        nuint parked = 0;
        int inCpuCaches = -1;
        Run(() =>
        {
            for (int round = 0; round < 3; round++)
            {
                var runs = Enumerable.Range(0, limit).Select(_ => a.AllocatePages(1, PageSize)).ToList();
                foreach (nuint run in runs) a.FreePages(run, 1);
            }
            parked = a.GetStatistics().Caches.ThreadRunBytes;
            inCpuCaches = a.Cpu(0).Pages.Count(1) + a.Cpu(1).Pages.Count(1);
            a.FlushThreadCache();
        });
        Assert.Equal((nuint)(limit * PageSize), parked);
        Assert.Equal(0, inCpuCaches);
        h.AssertAllPagesBack();
    }

    [Fact]
    public void AThreadThatStartsTakingALengthItDrainedGrowsBackToTheFullStack()
    {
        using var h = new GlobalHarness(bytes: 32 << 20);
        GlobalAllocator a = h.Allocator;
        var runs = new nuint[203];
        Run(() =>
        {
            for (int i = 0; i < runs.Length; i++) runs[i] = a.AllocatePages(1, PageSize);
        });
        nuint drained = 0, grown = 0;
        Run(() =>
        {
            foreach (nuint run in runs) a.FreePages(run, 1);
            drained = a.GetStatistics().Caches.ThreadRunBytes;
            var mine = Enumerable.Range(0, 40).Select(_ => a.AllocatePages(1, PageSize)).ToList();
            foreach (nuint run in mine) a.FreePages(run, 1);
            grown = a.GetStatistics().Caches.ThreadRunBytes;
            a.FlushThreadCache();
        });
        Assert.True(drained <= (nuint)(RunStack.MinLimitFor(1) * PageSize));
        Assert.InRange(grown / PageSize, (nuint)RunStack.MinLimitFor(1) + 1, (nuint)RunStack.LimitFor(1));   // past the drain share again
        h.AssertAllPagesBack();
    }

    [Fact]
    public void AnEmptyStackRefillsFromAnotherCpusCacheWhenItsOwnHasNone()
    {
        using var h = new GlobalHarness(bytes: 16 << 20);
        GlobalAllocator a = h.Allocator;
        List<nuint> freed = [];
        int onCpu1 = -1, onCpu1After = -1;
        nuint taken = 0, allocatedBefore = 0, allocatedAfter = 0;
        Run(() =>
        {
            h.Platform.ThreadProcessor = 1;
            freed.AddRange(Enumerable.Range(0, 4).Select(_ => a.AllocatePages(2, PageSize)));
            foreach (nuint run in freed) a.FreePages(run, 2);
            a.FlushThreadCache();                               // the four runs now wait in CPU 1's cache
            onCpu1 = a.Cpu(1).Pages.Count(2);
            allocatedBefore = a.AllocatedBytes;
        });
        Run(() =>
        {
            h.Platform.ThreadProcessor = 0;                     // CPU 0's cache has no 2-page run
            taken = a.AllocatePages(2, PageSize);
            onCpu1After = a.Cpu(1).Pages.Count(2);
            allocatedAfter = a.AllocatedBytes;
            a.FreePages(taken, 2);
            a.FlushThreadCache();
        });
        Assert.Equal(4, onCpu1);
        Assert.Contains(taken, freed);                          // one of CPU 1's runs, not a new split of the buddy
        Assert.True(onCpu1After < onCpu1);
        Assert.Equal(allocatedBefore, allocatedAfter);
        h.AssertAllPagesBack();
    }

    private static void Run(Action body)
    {
        SeparateThread.Run(body, Timeout.InfiniteTimeSpan, out Exception? failure);
        if (failure != null) throw new Xunit.Sdk.XunitException($"the thread failed: {failure}");
    }
}
