namespace BuddySlab.Tests.Objects;

/// <summary>Constructor arguments are checked, and each rejection names the parameter and the value.</summary>
public class ObjectCacheValidationTests
{
    [Theory]
    [InlineData(0u)]
    [InlineData(3000u)]
    [InlineData(4097u)]
    public void PageSizeMustBeAPowerOfTwo(uint pageSize)
    {
        using var backend = new RecordingBackend();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Obj64>(8192, pageSize, ObjectSizeType.Small, backend));
        Assert.Equal("pageSize", e.ParamName);
        Assert.Contains(pageSize.ToString(), e.Message);
    }

    [Fact]
    public void PageSizeMustHoldTheObjectAlignment()
    {
        using var backend = new RecordingBackend();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Aligned16>(4096, 8, ObjectSizeType.Large, backend));
        Assert.Equal("pageSize", e.ParamName);
        Assert.Contains("alignment 16", e.Message);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(6144u)]
    [InlineData(4095u)]
    [InlineData(2048u)]
    public void SlabSizeMustBeAPositiveMultipleOfThePageSize(uint slabSize)
    {
        using var backend = new RecordingBackend();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Obj64>(slabSize, 4096, ObjectSizeType.Large, backend));
        Assert.Equal("slabSize", e.ParamName);
        Assert.Contains($"Slab size {slabSize} ", e.Message);
    }

    [Fact]
    public void SlabSizeIsAtMostFourGiB()
    {
        using var backend = new RecordingBackend();
        nuint tooLarge = unchecked((nuint)(1UL << 33));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Obj64>(tooLarge, 4096, ObjectSizeType.Large, backend));
        Assert.Equal("slabSize", e.ParamName);
        // 4 GiB itself is accepted (no memory is taken until the first allocation).
        using var largest = new ObjectCache<Obj64>(unchecked((nuint)(1UL << 32)), 4096, ObjectSizeType.Large, backend);
        Assert.Equal((nuint)(1UL << 26), largest.Statistics.ObjectsPerSlab);
    }

    [Fact]
    public void SlabMustHoldAtLeastOneObject()
    {
        using var backend = new RecordingBackend();
        // 1000 bytes and a 72-byte info do not fit a 1 KiB Small slab...
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Big1000>(1024, 1024, ObjectSizeType.Small, backend));
        Assert.Equal("slabSize", e.ParamName);
        Assert.Contains("1000-byte", e.Message);
        Assert.Contains("slab info", e.Message);
        // ...but do as Large, or in two pages.
        using var large = new ObjectCache<Big1000>(1024, 1024, ObjectSizeType.Large, backend);
        Assert.Equal((nuint)1, large.Statistics.ObjectsPerSlab);
        using var twoPages = new ObjectCache<Big1000>(2048, 1024, ObjectSizeType.Small, backend);
        Assert.Equal((nuint)1, twoPages.Statistics.ObjectsPerSlab);
        using var exact = new ObjectCache<Big4000>(4096, 4096, ObjectSizeType.Small, backend);
        Assert.Equal((nuint)1, exact.Statistics.ObjectsPerSlab); // 4000 + 72 <= 4096

        var tiny = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Big1000>(512, 512, ObjectSizeType.Large, backend));
        Assert.Equal("slabSize", tiny.ParamName);
    }

    [Fact]
    public void SizeTypeMustBeDefinedAndBackendNotNull()
    {
        using var backend = new RecordingBackend();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectCache<Obj64>(4096, 4096, (ObjectSizeType)7, backend));
        Assert.Equal("sizeType", e.ParamName);
        var n = Assert.Throws<ArgumentNullException>(() => new ObjectCache<Obj64>(4096, 4096, ObjectSizeType.Small, null!));
        Assert.Equal("backend", n.ParamName);
    }

    [Fact]
    public void ConstructionTouchesNoMemory()
    {
        using var backend = new RecordingBackend();
        using var cache = new ObjectCache<Obj64>(65536, 4096, ObjectSizeType.Large, backend);
        Assert.Empty(backend.Calls);
        Assert.Equal(new ObjectCacheStatistics(64, 1024, 0, 0, 0, 0, 0, 0), cache.Statistics);
        Assert.Equal((nuint)65536, cache.SlabSize);
        Assert.Equal((nuint)4096, cache.PageSize);
        Assert.Equal(ObjectSizeType.Large, cache.SizeType);
        Assert.Equal((nuint)8, cache.ObjectAlignment);
    }
}
