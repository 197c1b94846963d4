using BuddySlab.Slab;

namespace BuddySlab.Tests.Slab;

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
}
