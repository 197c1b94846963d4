using BuddySlab.Caches;

namespace BuddySlab.Tests.Caches;

/// <summary>
/// A depot keeps one full magazine of a class above 2 KiB (whose magazines hold fewer than 16 objects) and up to its
/// limit of a smaller one, whatever limit the caller passes (a CPU's depot: 4; the shared depot's shelf: more while
/// purge passes run).
/// </summary>
public unsafe class LargeMagazineDepotTests
{
    [Theory]
    [InlineData(64, MagazineDepot.MaxMagazines, 4)]
    [InlineData(2048, MagazineDepot.MaxMagazines, 4)]
    [InlineData(2048, 100, 100)]
    [InlineData(2304, MagazineDepot.MaxMagazines, 1)]
    [InlineData(4608, 100, 1)]
    [InlineData(8192, MagazineDepot.MaxMagazines, 1)]
    public void ADepotKeepsOneFullMagazineOfAClassAboveTwoKiB(int objectSize, int limit, int kept)
    {
        int capacity = Magazine.CapacityFor(objectSize);
        var magazines = new Magazine[limit + 1];
        fixed (Magazine* m = magazines)
        {
            MagazineDepot depot = default;
            for (int i = 0; i < magazines.Length; i++)
            {
                m[i].Capacity = capacity;
                m[i].Count = capacity;
                Assert.Equal(i < kept, depot.TryPutFull(m + i, limit));
            }
            Assert.Equal(kept, depot.FullCount);
            for (int i = kept - 1; i >= 0; i--) Assert.True(depot.TakeFull() == m + i);
            Assert.True(depot.TakeFull() == null);
            Assert.True(depot.TryPutEmpty(m, limit));           // empty magazines keep the caller's limit
        }
    }
}
