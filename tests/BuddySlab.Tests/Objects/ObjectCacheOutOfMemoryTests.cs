namespace BuddySlab.Tests.Objects;

/// <summary>A backend that runs out of memory: errors are reported, nothing leaks, and the cache recovers.</summary>
public unsafe class ObjectCacheOutOfMemoryTests
{
    [Theory]
    [InlineData(4096u, ObjectSizeType.Small)]
    [InlineData(8192u, ObjectSizeType.Small)]
    [InlineData(4096u, ObjectSizeType.Large)]
    public void AllocateThrowsAndTryAllocateFailsUntilMemoryReturns(uint slabSize, ObjectSizeType sizeType)
    {
        using var backend = new RecordingBackend { SlabBudget = 1 };
        using var cache = new ObjectCache<Obj64>(slabSize, 4096, sizeType, backend);
        int n = (int)cache.Statistics.ObjectsPerSlab;
        var live = new List<nint>();
        for (int i = 0; i < n; i++)
            live.Add((nint)cache.Allocate());
        var full = cache.Statistics;

        var e = Assert.Throws<AllocatorException>(() => cache.Allocate());
        Assert.Equal(AllocError.NoMemory, e.Error);
        Assert.Contains($"{slabSize} bytes", e.Message);
        Assert.False(cache.TryAllocate(out Obj64* none));
        Assert.True(none == null);
        Assert.Equal(full, cache.Statistics);
        Assert.Equal(1, backend.OutstandingSlabs);
        Assert.Equal(sizeType == ObjectSizeType.Large ? 1 : 0, backend.OutstandingInfos);

        // A freed object is reused without the backend.
        cache.Free((Obj64*)live[7]);
        Assert.True(cache.TryAllocate(out Obj64* again));
        Assert.Equal(live[7], (nint)again);

        // Memory comes back: the cache grows again.
        backend.SlabBudget = -1;
        Obj64* next = cache.Allocate();
        Assert.True(next != null);
        Assert.Equal((nuint)2, cache.Statistics.Slabs);
        Assert.Equal((nuint)(n + 1), cache.Statistics.AllocatedObjects);
    }

    [Fact]
    public void LargeCacheReturnsTheSlabWhenNoInfoIsAvailable()
    {
        using var backend = new RecordingBackend { InfoBudget = 0 };
        using var cache = new ObjectCache<Obj64>(8192, 4096, ObjectSizeType.Large, backend);
        Assert.False(cache.TryAllocate(out Obj64* obj));
        Assert.True(obj == null);
        Assert.Equal(3, backend.Calls.Count);
        Assert.Equal(new BackendCall("AllocateSlab", 8192, 4096), backend.Calls[0]);
        Assert.Equal(new BackendCall("AllocateSlabInfo", SlabInfo.SizeFor(128)), backend.Calls[1]);
        Assert.Equal("FreeSlab", backend.Calls[2].Name);
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(default, cache.Statistics with { ObjectSize = 0, ObjectsPerSlab = 0 });

        Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => cache.Allocate()).Error);

        backend.InfoBudget = -1;
        Obj64* ok = cache.Allocate();
        cache.Free(ok);
        cache.Dispose();
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(0, backend.OutstandingInfos);
    }

    [Fact]
    public void AFailingSideTableUndoesTheHalfBuiltSlab()
    {
        using var backend = new RecordingBackend { ThrowOnSave = 2 };
        using var cache = new ObjectCache<Obj64>(16384, 4096, ObjectSizeType.Large, backend);
        Assert.Throws<InvalidOperationException>(() => cache.Allocate());
        string[] names = backend.Calls.Select(c => c.Name).ToArray();
        Assert.Equal(new[] { "AllocateSlab", "AllocateSlabInfo", "SaveSlabInfo", "SaveSlabInfo", "DeleteSlabInfo", "FreeSlabInfo", "FreeSlab" }, names);
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(0, backend.OutstandingInfos);
        Assert.Equal(0, backend.SavedPages);
        Assert.Equal((nuint)0, cache.Statistics.Slabs);

        Obj64* obj = cache.Allocate();
        cache.Free(obj);
        Assert.Equal((nuint)1, cache.Statistics.Slabs);
    }
}
