namespace BuddySlab.Tests.Caches;

public class PageRunCacheTests
{
    [Theory]
    [InlineData(4096, 1, 64)]
    [InlineData(4096, 3, 21)]
    [InlineData(4096, 8, 8)]
    [InlineData(4096, 16, 4)]
    [InlineData(1024, 1, 64)]
    [InlineData(65536, 1, 4)]
    [InlineData(65536, 16, 2)]
    public void CapacityIsAByteBudgetPerLengthBetweenTwoAnd64Runs(int pageSize, int pages, int runs)
    {
        Assert.Equal(runs, PageRunCache.Capacity(pages, pageSize));
    }

    [Fact]
    public void TakeAnswersTheNewestRunOfExactlyItsLength()
    {
        var cache = new PageRunCache(4096);
        Assert.Equal((nuint)0, cache.Put(0x10000, 3));
        Assert.Equal((nuint)0, cache.Put(0x20000, 3));
        Assert.Equal((nuint)0, cache.Put(0x30000, 4));
        Assert.Equal((nuint)0, cache.Take(2));
        Assert.Equal((nuint)0x20000, cache.Take(3));
        Assert.Equal((nuint)0x10000, cache.Take(3));
        Assert.Equal((nuint)0, cache.Take(3));
        Assert.Equal((nuint)0x30000, cache.Take(4));
        Assert.Equal(0, cache.Count(4));
    }

    [Fact]
    public void PutIntoAFullRingKeepsTheNewRunAndHandsBackTheOldest()
    {
        var cache = new PageRunCache(4096);
        int capacity = PageRunCache.Capacity(16, 4096);                 // 4
        for (int i = 1; i <= capacity; i++) Assert.Equal((nuint)0, cache.Put((nuint)i << 20, 16));
        Assert.Equal((nuint)1 << 20, cache.Put((nuint)5 << 20, 16));    // the oldest leaves
        Assert.Equal((nuint)2 << 20, cache.Put((nuint)6 << 20, 16));
        Assert.Equal(capacity, cache.Count(16));
        // Newest first, across the ring's wrap-around.
        foreach (int i in new[] { 6, 5, 4, 3 }) Assert.Equal((nuint)i << 20, cache.Take(16));
        Assert.Equal((nuint)0, cache.Take(16));
        // Refilling after a wrap keeps the order.
        cache.Put((nuint)7 << 20, 16);
        cache.Put((nuint)8 << 20, 16);
        Assert.Equal((nuint)8 << 20, cache.Take(16));
        cache.Put((nuint)9 << 20, 16);
        Assert.Equal((nuint)9 << 20, cache.Take(16));
        Assert.Equal((nuint)7 << 20, cache.Take(16));
    }

    [Theory]
    [InlineData(4096, 1, 2048)]
    [InlineData(4096, 3, 682)]
    [InlineData(4096, 16, 128)]
    [InlineData(65536, 1, 128)]
    [InlineData(65536, 16, 8)]
    [InlineData(1 << 20, 16, 2)]
    public void WhileReapingTheBudgetIsEightMiBPerLengthUpTo2048Runs(int pageSize, int pages, int runs)
    {
        Assert.Equal(runs, PageRunCache.Capacity(pages, pageSize, purging: true));
        var cache = new PageRunCache(pageSize) { Purging = true };
        Assert.Equal(runs, cache.Limit(pages));
        for (int i = 1; i <= runs; i++) Assert.Equal((nuint)0, cache.Put((nuint)i << 24, pages));
        Assert.Equal((nuint)1 << 24, cache.Put((nuint)(runs + 1) << 24, pages));
        Assert.Equal(runs, cache.Count(pages));
    }

    [Fact]
    public void AReapTakesWhatNoTakeNeededSinceThePreviousOneOldestFirst()
    {
        var cache = new PageRunCache(4096) { Purging = true };
        Span<nuint> taken = stackalloc nuint[256];
        for (int i = 1; i <= 10; i++) cache.Put((nuint)i << 20, 2);
        Assert.Equal(0, cache.TakeUnused(2, taken));              // the first reap only starts an interval: 10 held
        cache.Take(2);
        cache.Take(2);
        cache.Take(2);                                      // down to 7 at the lowest
        cache.Put(0xA00000, 2);
        cache.Put(0xB00000, 2);                             // 9 now; the 7 oldest were never needed
        Assert.Equal(7, cache.TakeUnused(2, taken));
        for (int i = 0; i < 7; i++) Assert.Equal((nuint)(i + 1) << 20, taken[i]);
        Assert.Equal(2, cache.Count(2));
        Assert.Equal((nuint)0xB00000, cache.Take(2));       // the newest stay, newest first
        Assert.Equal(1, cache.TakeUnused(2, taken));              // the next interval dipped to 1: that run was never needed
        Assert.Equal((nuint)0xA00000, taken[0]);
        Assert.Equal(0, cache.Count(2));
        cache.Put(0xC00000, 2);
        Assert.Equal(0, cache.TakeUnused(2, taken));              // it held nothing at one point: a run put since stays
        Assert.Equal(1, cache.Count(2));
    }

    [Fact]
    public void TurningReapingOffHandsBackTheSurplusOnePutAtATime()
    {
        var cache = new PageRunCache(4096) { Purging = true };
        for (int i = 1; i <= 10; i++) cache.Put((nuint)i << 24, 16);
        cache.Purging = false;                              // limit 4 for 16-page runs
        Assert.Equal(4, cache.Limit(16));
        Assert.Equal((nuint)1 << 24, cache.Put((nuint)11 << 24, 16));
        Assert.Equal(10, cache.Count(16));
        Assert.Equal((nuint)11 << 24, cache.Take(16));
        Assert.Equal((nuint)10 << 24, cache.Take(16));
    }
}
