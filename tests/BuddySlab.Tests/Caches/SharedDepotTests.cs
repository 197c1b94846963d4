namespace BuddySlab.Tests.Caches;

/// <summary>The shared depot's shelves on their own: full magazines for any CPU, empty ones kept per CPU, both bounded,
/// and what nobody used between two reaping steps handed back.</summary>
public unsafe class SharedDepotTests
{
    private const int Cls = 4;                       // 64-byte objects: 128 a magazine
    private static readonly SizeClassTable Table = SizeClassTable.For(4096);

    private static Magazine* Full()
    {
        Magazine* m = Magazine.Create(MetadataArena.Standalone, Magazine.CapacityFor(64), cookie: 0);
        m->Count = m->Capacity;
        return m;
    }

    private static Magazine* Empty() => Magazine.Create(MetadataArena.Standalone, Magazine.CapacityFor(64), cookie: 0);

    [Fact]
    public void AnEmptyMagazineGoesBackOnlyToTheCpuThatLeftIt()
    {
        var depot = new SharedDepot(Table, cpus: 2) { Purging = true };
        Magazine* leftOnCpu0 = Empty();
        Assert.True(depot.TryPutFull(Cls, Full(), cpu: 1, out Magazine* none));
        Assert.True(none == null);                                        // nothing left yet: the caller makes one
        Magazine* full = depot.TakeFull(Cls, leftOnCpu0, cpu: 0, out Magazine* surplus);
        Assert.True(full != null && surplus == null);                     // kept for CPU 0

        Assert.True(depot.TryPutFull(Cls, full, cpu: 1, out Magazine* forCpu1));
        Assert.True(forCpu1 == null);                                     // CPU 1 never gets CPU 0's empty
        Assert.True(depot.TryPutFull(Cls, Full(), cpu: 0, out Magazine* forCpu0));
        Assert.True(forCpu0 == leftOnCpu0);

        Magazine.Destroy(MetadataArena.Standalone, forCpu0);
        Magazine.DestroyChain(MetadataArena.Standalone, depot.TakeAll(Cls, out int fulls));
        Assert.Equal(2, fulls);
    }

    [Fact]
    public void EmptiesAreBoundedByTheLimitWithoutReaping()
    {
        var depot = new SharedDepot(Table, cpus: 2);
        for (int i = 0; i < depot.Limit; i++) Assert.True(depot.TryPutFull(Cls, Full(), cpu: 0, out _));
        Magazine* refused = Full();
        Assert.False(depot.TryPutFull(Cls, refused, cpu: 0, out _), "the full bound");   // the caller flushes it instead
        Magazine.Destroy(MetadataArena.Standalone, refused);
        for (int i = 0; i < depot.Limit; i++)
        {
            Magazine* full = depot.TakeFull(Cls, Empty(), cpu: 0, out Magazine* extra);
            Assert.True(full != null && extra == null);                   // every full one taken leaves an empty, up to the limit
            Magazine.Destroy(MetadataArena.Standalone, full);
        }

        Assert.True(depot.TryPutFull(Cls, Full(), cpu: 1, out Magazine* none));
        Assert.True(none == null);
        Magazine* mine = Empty();
        Magazine* taken = depot.TakeFull(Cls, mine, cpu: 0, out Magazine* surplus);
        Assert.True(taken != null && surplus == mine);                    // the shelf has its fill of empties: the caller frees this one
        Magazine.Destroy(MetadataArena.Standalone, taken);
        Magazine.Destroy(MetadataArena.Standalone, surplus);

        Magazine* chain = depot.TakeAll(Cls, out int fulls);
        int all = 0;
        for (Magazine* m = chain; m != null; m = m->Next) all++;
        Assert.Equal((0, depot.Limit), (fulls, all));
        Magazine.DestroyChain(MetadataArena.Standalone, chain);
    }

    [Fact]
    public void EmptiesNoThreadTookBetweenTwoReapsAreHandedBack()
    {
        var depot = new SharedDepot(Table, cpus: 2) { Purging = true };
        for (int i = 0; i < 6; i++) Assert.True(depot.TryPutFull(Cls, Full(), cpu: 0, out _));
        for (int i = 0; i < 6; i++)
        {
            Magazine* full = depot.TakeFull(Cls, Empty(), cpu: i % 2, out Magazine* extra);
            Assert.True(full != null && extra == null);
            Magazine.Destroy(MetadataArena.Standalone, full);
        }
        Magazine.DestroyChain(MetadataArena.Standalone, depot.TakeUnused(Cls, out int fulls));            // the first step only starts an interval
        Assert.Equal(0, fulls);

        // One exchange in this interval takes an empty: the other 5 were never needed.
        Assert.True(depot.TryPutFull(Cls, Full(), cpu: 1, out Magazine* used));
        Assert.True(used != null);
        Magazine* chain = depot.TakeUnused(Cls, out fulls);
        int handedBack = 0;
        for (Magazine* m = chain; m != null; m = m->Next) handedBack++;
        Assert.Equal(0, fulls);                                           // the full one was shelved after the lowest point
        Assert.Equal(5, handedBack);
        Magazine.DestroyChain(MetadataArena.Standalone, chain);
        Magazine.Destroy(MetadataArena.Standalone, used);
        Magazine.DestroyChain(MetadataArena.Standalone, depot.TakeAll(Cls, out _));
    }
}
