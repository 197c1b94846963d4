namespace BuddySlab.Tests.Objects;

/// <summary>The page-backed backend the parameterless constructor is meant to use.</summary>
public unsafe class PageSlabBackendTests
{
    [Fact]
    public void ServesACacheFromPagesAndItsOwnSideTable()
    {
        var pages = new NativePages(4096);
        var backend = pages.CreateBackend();
        nuint slabSize = ObjectCacheLayout.DefaultSlabSizeOf<Big1000>();
        Assert.Equal((nuint)8192, slabSize); // 8 objects of 1000 bytes and the 72-byte info fit two pages
        using (var cache = new ObjectCache<Big1000>(slabSize, 4096, ObjectSizeType.Small, backend))
        {
            Assert.True(cache.Statistics.ObjectsPerSlab >= 8);
            var objects = new List<nint>();
            for (int i = 0; i < 20; i++)
                objects.Add((nint)cache.Allocate());
            Assert.Equal(6, pages.PagesOut); // three slabs of two pages
            Assert.Equal(6, backend.SavedPages);
            foreach (nint p in objects)
                cache.Free((Big1000*)p);
            Assert.Equal(2, pages.PagesOut); // one empty slab kept
            Assert.Equal(2, backend.SavedPages);
            Assert.Equal(AllocError.NotFound, Assert.Throws<AllocatorException>(() => cache.Free((Big1000*)8192)).Error);
        }
        Assert.Equal(0, pages.PagesOut);
        Assert.Equal(0, backend.SavedPages);
    }

    [Fact]
    public void LargeInfosComeFromNativeMemory()
    {
        var pages = new NativePages(4096);
        var backend = pages.CreateBackend();
        using var cache = new ObjectCache<Obj64>(8192, 4096, ObjectSizeType.Large, backend);
        Obj64* p = cache.Allocate();
        Assert.Equal(2, pages.PagesOut);
        Assert.Equal(2, backend.SavedPages);
        cache.Free(p);
        cache.Dispose();
        Assert.Equal(0, pages.PagesOut);
        Assert.Equal(0, backend.SavedPages);
    }

    [Fact]
    public void NoPagesMeansNoMemory()
    {
        var pages = new NativePages(4096) { Exhausted = true };
        using var cache = new ObjectCache<Obj64>(4096, 4096, ObjectSizeType.Small, pages.CreateBackend());
        Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => cache.Allocate()).Error);
        Assert.False(cache.TryAllocate(out _));
        pages.Exhausted = false;
        cache.Free(cache.Allocate());
    }

    [Fact]
    public void RejectsAnotherPageSizeAndBadArguments()
    {
        var pages = new NativePages(4096);
        var backend = pages.CreateBackend();
        using var cache = new ObjectCache<Obj64>(8192, 8192, ObjectSizeType.Small, backend);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => cache.Allocate());
        Assert.Equal("pageSize", e.ParamName);
        Assert.Equal(0, pages.PagesOut);

        Assert.Throws<ArgumentOutOfRangeException>(() => new PageSlabBackend(3000, pages.Allocate, pages.Free));
        Assert.Throws<ArgumentNullException>(() => new PageSlabBackend(4096, null!, pages.Free));
        Assert.Throws<ArgumentNullException>(() => new PageSlabBackend(4096, pages.Allocate, null!));
    }
}
