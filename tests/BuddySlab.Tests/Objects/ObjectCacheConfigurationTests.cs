namespace BuddySlab.Tests.Objects;

/// <summary>
/// The three configurations of the reference, with the exact backend calls each makes: which members,
/// in which order, with which arguments.
/// </summary>
public unsafe class ObjectCacheConfigurationTests
{
    private static BackendCall AllocSlab(nuint slab, nuint page) => new("AllocateSlab", slab, page);
    private static BackendCall FreeSlab(nuint at, nuint slab, nuint page) => new("FreeSlab", at, slab, page);
    private static BackendCall AllocInfo(nuint size) => new("AllocateSlabInfo", size);
    private static BackendCall FreeInfo(nuint at, nuint size) => new("FreeSlabInfo", at, size);
    private static BackendCall Save(nuint page, nuint info) => new("SaveSlabInfo", page, info);
    private static BackendCall Get(nuint page) => new("GetSlabInfo", page);
    private static BackendCall Delete(nuint page) => new("DeleteSlabInfo", page);

    [Fact]
    public void SmallOnePageSlabsOnlyAllocateAndFreeSlabs()
    {
        using var backend = new RecordingBackend();
        var cache = new ObjectCache<Obj64>(4096, 4096, ObjectSizeType.Small, backend);
        Assert.Empty(backend.Calls);

        // 64-byte objects: 62 fit before the 72-byte info (64-byte record + one bitmap word) at the end.
        Assert.Equal((nuint)62, cache.Statistics.ObjectsPerSlab);
        var first = new List<nint>();
        for (int i = 0; i < 62; i++)
            first.Add((nint)cache.Allocate());
        nuint slab1 = (nuint)first[0];
        Assert.Equal(new[] { AllocSlab(4096, 4096) }, backend.Calls);
        for (int i = 0; i < 62; i++)
            Assert.Equal(slab1 + (nuint)(i * 64), (nuint)first[i]);

        Obj64* extra = cache.Allocate();
        nuint slab2 = (nuint)extra;
        Assert.Equal(new[] { AllocSlab(4096, 4096), AllocSlab(4096, 4096) }, backend.Calls);

        // Frees never reach the backend; the first slab to empty is kept.
        cache.Free(extra);
        foreach (nint p in first)
            cache.Free((Obj64*)p);
        Assert.Equal(new[] { AllocSlab(4096, 4096), AllocSlab(4096, 4096), FreeSlab(slab2, 4096, 4096) }, backend.Calls);

        cache.Dispose();
        Assert.Equal(
            new[] { AllocSlab(4096, 4096), AllocSlab(4096, 4096), FreeSlab(slab2, 4096, 4096), FreeSlab(slab1, 4096, 4096) },
            backend.Calls);
        Assert.Equal(0, backend.OutstandingSlabs);
    }

    [Fact]
    public void SmallMultiPageSlabsAlsoSaveGetAndDeleteTheInfoOfEveryPage()
    {
        using var backend = new RecordingBackend();
        var cache = new ObjectCache<Obj64>(8192, 4096, ObjectSizeType.Small, backend);
        nuint perSlab = cache.Statistics.ObjectsPerSlab;
        Assert.Equal((nuint)126, perSlab); // 126 * 64 + 64 + 16 = 8144 <= 8192

        Obj64* a = cache.Allocate();
        nuint slab = (nuint)a;
        nuint info = slab + 8192 - SlabInfo.SizeFor(perSlab);
        Assert.Equal(new[] { AllocSlab(8192, 4096), Save(slab, info), Save(slab + 4096, info) }, backend.Calls);

        // Allocation never consults the side table; a free looks up the object's page.
        Obj64* b = null;
        for (int i = 1; i < 100; i++)
            b = cache.Allocate();
        Assert.Equal(3, backend.Calls.Count);
        Assert.Equal(slab + 99 * 64, (nuint)b);
        backend.Calls.Clear();
        cache.Free(b); // second page
        cache.Free(a); // first page
        Assert.Equal(new[] { Get(slab + 4096), Get(slab) }, backend.Calls);

        backend.Calls.Clear();
        cache.Dispose();
        Assert.Equal(new[] { Delete(slab), Delete(slab + 4096), FreeSlab(slab, 8192, 4096) }, backend.Calls);
        Assert.Equal(0, backend.SavedPages);
        Assert.Equal(0, backend.OutstandingSlabs);
    }

    [Fact]
    public void LargeAlsoAllocatesAndFreesTheInfoSeparately()
    {
        using var backend = new RecordingBackend();
        var cache = new ObjectCache<Obj64>(4096, 4096, ObjectSizeType.Large, backend);
        Assert.Equal((nuint)64, cache.Statistics.ObjectsPerSlab); // the whole page holds objects
        nuint infoSize = SlabInfo.SizeFor(64);
        Assert.Equal((nuint)72, infoSize);

        var objects = new List<nint>();
        for (int i = 0; i < 64; i++)
            objects.Add((nint)cache.Allocate());
        nuint slab = (nuint)objects[0];
        Assert.Equal(3, backend.Calls.Count);
        Assert.Equal(AllocSlab(4096, 4096), backend.Calls[0]);
        Assert.Equal("AllocateSlabInfo", backend.Calls[1].Name);
        Assert.Equal(infoSize, backend.Calls[1].A);
        nuint info = backend.Calls[2].B;
        Assert.Equal(Save(slab, info), backend.Calls[2]);
        Assert.Equal(slab + 63 * 64, (nuint)objects[63]);
        Assert.True(info < slab || info >= slab + 4096, "a Large info lives outside the slab");

        backend.Calls.Clear();
        foreach (nint p in objects)
            cache.Free((Obj64*)p);
        Assert.Equal(Enumerable.Repeat(Get(slab), 64), backend.Calls);
        Assert.Equal((nuint)1, cache.Statistics.Slabs); // the empty slab is kept

        backend.Calls.Clear();
        cache.Dispose();
        Assert.Equal(new[] { Delete(slab), FreeInfo(info, infoSize), FreeSlab(slab, 4096, 4096) }, backend.Calls);
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(0, backend.OutstandingInfos);
        Assert.Equal(0, backend.SavedPages);
    }

    [Fact]
    public void LargeMultiPageSlabsSaveEveryPage()
    {
        using var backend = new RecordingBackend();
        var cache = new ObjectCache<Big1000>(16384, 4096, ObjectSizeType.Large, backend);
        Assert.Equal((nuint)16, cache.Statistics.ObjectsPerSlab);
        Assert.Equal((nuint)1000, cache.Statistics.ObjectSize);

        Big1000* first = cache.Allocate();
        nuint slab = (nuint)first;
        nuint info = backend.Calls[2].B;
        Assert.Equal(
            new[]
            {
                AllocSlab(16384, 4096), AllocInfo(SlabInfo.SizeFor(16)),
                Save(slab, info), Save(slab + 4096, info), Save(slab + 8192, info), Save(slab + 12288, info),
            },
            backend.Calls);

        // Objects are found through the page of their first byte, even when they straddle two pages.
        var objects = new List<nint> { (nint)first };
        for (int i = 1; i < 9; i++)
            objects.Add((nint)cache.Allocate());
        Assert.Equal(slab + 4000, (nuint)objects[4]); // pages 0 and 1
        Assert.Equal(slab + 8000, (nuint)objects[8]); // pages 1 and 2
        backend.Calls.Clear();
        cache.Free((Big1000*)objects[8]);
        cache.Free((Big1000*)objects[4]);
        cache.Free((Big1000*)objects[5]);
        Assert.Equal(new[] { Get(slab + 4096), Get(slab), Get(slab + 4096) }, backend.Calls);
        foreach (int i in new[] { 0, 1, 2, 3, 6, 7 })
            cache.Free((Big1000*)objects[i]);

        backend.Calls.Clear();
        Assert.True(cache.Trim());
        Assert.Equal(
            new[]
            {
                Delete(slab), Delete(slab + 4096), Delete(slab + 8192), Delete(slab + 12288),
                FreeInfo(info, SlabInfo.SizeFor(16)), FreeSlab(slab, 16384, 4096),
            },
            backend.Calls);
        cache.Dispose();
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(0, backend.OutstandingInfos);
    }

    [Fact]
    public void SecondEmptySlabReleasesTheCachedOneAndIsKeptInstead()
    {
        using var backend = new RecordingBackend();
        using var cache = new ObjectCache<Obj128>(4096, 4096, ObjectSizeType.Small, backend);
        int n = (int)cache.Statistics.ObjectsPerSlab;
        var a = new List<nint>();
        var b = new List<nint>();
        for (int i = 0; i < n; i++)
            a.Add((nint)cache.Allocate());
        for (int i = 0; i < n; i++)
            b.Add((nint)cache.Allocate());
        nuint slabA = (nuint)a[0], slabB = (nuint)b[0];
        backend.Calls.Clear();

        foreach (nint p in a)
            cache.Free((Obj128*)p);
        Assert.Empty(backend.Calls);
        Assert.Equal(new ObjectCacheStatistics(128, (nuint)n, 2, 1, 0, (nuint)n, (nuint)n, 8192), cache.Statistics);

        foreach (nint p in b)
            cache.Free((Obj128*)p);
        Assert.Equal(new[] { FreeSlab(slabA, 4096, 4096) }, backend.Calls);
        Assert.Equal(new ObjectCacheStatistics(128, (nuint)n, 1, 0, 0, 0, (nuint)n, 4096), cache.Statistics);

        // The kept slab is reused from its start, without asking the backend.
        backend.Calls.Clear();
        Assert.Equal(slabB, (nuint)cache.Allocate());
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public void TrimReturnsOnlyTheCachedEmptySlab()
    {
        using var backend = new RecordingBackend();
        using var cache = new ObjectCache<Obj64>(4096, 4096, ObjectSizeType.Small, backend);
        Assert.False(cache.Trim());
        Obj64* a = cache.Allocate();
        Assert.False(cache.Trim());
        cache.Free(a);
        backend.Calls.Clear();
        Assert.True(cache.Trim());
        Assert.Equal(new[] { FreeSlab((nuint)a, 4096, 4096) }, backend.Calls);
        Assert.False(cache.Trim());
        Assert.Equal(default(nuint), cache.Statistics.Slabs);
    }

    [Fact]
    public void AllocationPrefersTheFullestPartialSlab()
    {
        using var backend = new RecordingBackend();
        using var cache = new ObjectCache<Obj128>(4096, 4096, ObjectSizeType.Small, backend);
        int n = (int)cache.Statistics.ObjectsPerSlab;
        Assert.Equal(31, n);
        var slabs = new List<nint>[3];
        for (int s = 0; s < 3; s++)
        {
            slabs[s] = new List<nint>();
            for (int i = 0; i < n; i++)
                slabs[s].Add((nint)cache.Allocate());
        }

        // Slab 0 keeps 21 objects, slab 1 keeps 26, slab 2 keeps 11.
        int[] freed = { 10, 5, 20 };
        for (int s = 0; s < 3; s++)
        {
            for (int i = 0; i < freed[s]; i++)
                cache.Free((Obj128*)slabs[s][i * 31 / freed[s]]);
        }
        Assert.Equal((nuint)3, cache.Statistics.PartialSlabs);

        int SlabOf(Obj128* p)
        {
            for (int s = 0; s < 3; s++)
            {
                if ((nuint)p - (nuint)slabs[s][0] < 4096)
                    return s;
            }
            return -1;
        }

        var order = new List<int>();
        for (int i = 0; i < 35; i++)
            order.Add(SlabOf(cache.Allocate()));
        Assert.Equal(Enumerable.Repeat(1, 5).Concat(Enumerable.Repeat(0, 10)).Concat(Enumerable.Repeat(2, 20)), order);
        Assert.Equal(3, backend.OutstandingSlabs);
    }
}
