namespace BuddySlab.Tests.Objects;

/// <summary>Dispose returns everything; a disposed cache refuses to be used; many slabs at once.</summary>
public unsafe class ObjectCacheLifecycleTests
{
    [Theory]
    [InlineData(4096u, ObjectSizeType.Small)]
    [InlineData(8192u, ObjectSizeType.Small)]
    [InlineData(4096u, ObjectSizeType.Large)]
    [InlineData(32768u, ObjectSizeType.Large)]
    public void DisposeReturnsEverySlabInfoAndSideTableEntry(uint slabSize, ObjectSizeType sizeType)
    {
        using var backend = new RecordingBackend { Recording = false };
        var cache = new ObjectCache<Odd24>(slabSize, 4096, sizeType, backend);
        var live = new List<nint>();
        for (int i = 0; i < 5000; i++)
            live.Add((nint)cache.Allocate());
        // Objects fill slabs in order: empty the first slab, keep the second full, thin out the rest.
        int n = (int)cache.Statistics.ObjectsPerSlab;
        Assert.True(live.Count > 2 * n);
        for (int i = 0; i < live.Count; i++)
        {
            if (i < n || (i >= 2 * n && i % 3 == 0))
                cache.Free((Odd24*)live[i]);
        }
        var stats = cache.Statistics;
        Assert.Equal((nuint)1, stats.FullSlabs);
        Assert.True(stats.PartialSlabs >= 1);
        Assert.Equal(stats.FullSlabs + stats.PartialSlabs + 1, stats.Slabs);
        Assert.Equal((nuint)backend.OutstandingSlabs, stats.Slabs);

        cache.Dispose();
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(0, backend.OutstandingInfos);
        Assert.Equal(0, backend.SavedPages);
        Assert.Equal(new ObjectCacheStatistics(24, (nuint)n, 0, 0, 0, 0, 0, 0), cache.Statistics);

        cache.Dispose(); // harmless
        Assert.Equal(0, backend.OutstandingSlabs);
    }

    [Fact]
    public void UseAfterDisposeThrowsObjectDisposed()
    {
        using var backend = new RecordingBackend();
        var cache = new ObjectCache<Obj64>(8192, 4096, ObjectSizeType.Small, backend);
        Obj64* obj = cache.Allocate();
        cache.Dispose();
        backend.Calls.Clear();

        Assert.Throws<ObjectDisposedException>(() => cache.Allocate());
        Assert.Throws<ObjectDisposedException>(() => cache.TryAllocate(out _));
        Assert.Throws<ObjectDisposedException>(() => cache.Free(obj));
        Assert.Throws<ObjectDisposedException>(() => cache.Trim());
        Assert.Contains("disposed", Assert.Throws<ObjectDisposedException>(() => cache.Allocate()).Message);
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public void ManyObjectsAcrossManySlabs()
    {
        using var backend = new RecordingBackend { Recording = false };
        using var cache = new ObjectCache<Odd12>(4096, 4096, ObjectSizeType.Small, backend);
        Assert.Equal((nuint)16, cache.Statistics.ObjectSize);
        const int count = 100_000;
        var objects = new nint[count];
        for (int i = 0; i < count; i++)
        {
            Odd12* p = cache.Allocate();
            Assert.Equal(0, (int)((nuint)p % 8));
            p->A = i;
            p->B = ~i;
            p->C = i * 7;
            objects[i] = (nint)p;
        }
        var stats = cache.Statistics;
        int slabs = (count + (int)stats.ObjectsPerSlab - 1) / (int)stats.ObjectsPerSlab;
        Assert.Equal((nuint)slabs, stats.Slabs);
        Assert.Equal(slabs, backend.OutstandingSlabs);
        Assert.Equal((nuint)count, stats.AllocatedObjects);
        Assert.Equal(count, objects.Distinct().Count());

        var random = new Random(7);
        random.Shuffle(objects);
        foreach (nint o in objects)
        {
            Odd12* p = (Odd12*)o;
            Assert.Equal(~p->A, p->B);
            Assert.Equal(p->A * 7, p->C);
            cache.Free(p);
        }
        Assert.Equal(new ObjectCacheStatistics(16, stats.ObjectsPerSlab, 1, 0, 0, 0, stats.ObjectsPerSlab, 4096), cache.Statistics);
        Assert.Equal(1, backend.OutstandingSlabs);
    }

    [Fact]
    public void ObjectsAreAlignedForEveryType()
    {
        using var backend = new RecordingBackend { Recording = false };
        CheckAlignment<byte>(backend, 8, 8);
        CheckAlignment<Odd12>(backend, 8, 16);
        CheckAlignment<Odd24>(backend, 8, 24);
        CheckAlignment<Aligned16>(backend, 16, 32);
        CheckAlignment<Big1000>(backend, 8, 1000);
        CheckAlignment<Big4000>(backend, 8, 4000);
    }

    private static void CheckAlignment<T>(RecordingBackend backend, nuint alignment, nuint stride) where T : unmanaged
    {
        using var cache = new ObjectCache<T>(65536, 4096, ObjectSizeType.Small, backend);
        Assert.Equal(alignment, cache.ObjectAlignment);
        Assert.Equal(stride, cache.Statistics.ObjectSize);
        for (int i = 0; i < 100; i++)
        {
            T* p = cache.Allocate();
            Assert.Equal((nuint)0, (nuint)p % alignment);
        }
    }
}
