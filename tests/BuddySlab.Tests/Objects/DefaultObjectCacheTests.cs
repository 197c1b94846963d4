namespace BuddySlab.Tests.Objects;

/// <summary>The parameterless cache: slabs from the shared heap's pages.</summary>
public unsafe class DefaultObjectCacheTests
{
    private struct Particle
    {
        public double X, Y, Z;
        public int Id;
    }

    [Fact]
    public void TheDefaultCacheTakesItsSlabsFromTheSharedHeap()
    {
        using var cache = new ObjectCache<Particle>();
        var objects = new List<nint>();
        for (int i = 0; i < 1000; i++)
        {
            Particle* p = cache.Allocate();
            Assert.Equal((nuint)0, (nuint)p % 8);
            *p = new Particle { X = i, Y = -i, Z = 2 * i, Id = i };
            objects.Add((nint)p);
        }
        var stats = cache.Statistics;
        Assert.Equal((nuint)1000, stats.AllocatedObjects);
        Assert.True(stats.ObjectsPerSlab >= 8);
        Assert.Equal((nuint)4096, stats.SlabBytes / stats.Slabs);
        var shared = NativeHeap.Shared.Allocator;
        Assert.Contains(Enumerable.Range(0, shared.SectionCount).Select(shared.GetSection),
            s => (nuint)objects[0] >= s.Start && (nuint)objects[0] < s.Start + s.Size);
        for (int i = 0; i < objects.Count; i++)
        {
            Assert.Equal(i, ((Particle*)objects[i])->Id);
            cache.Free((Particle*)objects[i]);
        }
        Assert.Equal((nuint)0, cache.Statistics.AllocatedObjects);
    }
}
