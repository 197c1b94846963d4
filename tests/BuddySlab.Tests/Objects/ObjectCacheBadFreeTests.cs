using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Objects;

/// <summary>
/// Every kind of bad free is rejected with the documented error, changes nothing (statistics, backend
/// state, later allocations), and leaves the cache usable.
/// </summary>
public unsafe class ObjectCacheBadFreeTests
{
    public static TheoryData<uint, ObjectSizeType> Configurations => new()
    {
        { 4096u, ObjectSizeType.Small },
        { 8192u, ObjectSizeType.Small },
        { 4096u, ObjectSizeType.Large },
        { 16384u, ObjectSizeType.Large },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void BadFreesThrowAndChangeNothing(uint slabSize, ObjectSizeType sizeType)
    {
        using var backend = new RecordingBackend { Recording = false };
        using var cache = new ObjectCache<Big1000>(slabSize, 4096, sizeType, backend);
        using var other = new ObjectCache<Big1000>(slabSize, 4096, sizeType, backend);
        using var otherType = new ObjectCache<Obj64>(slabSize, 4096, sizeType, backend);
        int n = (int)cache.Statistics.ObjectsPerSlab;
        Assert.True(n >= 3);

        var live = new List<nint>();
        for (int i = 0; i < n - 1; i++)
            live.Add((nint)cache.Allocate());
        byte* slab = (byte*)live[0];
        Big1000* freed = (Big1000*)live[1];
        cache.Free(freed);
        live.RemoveAt(1);
        Big1000* neverUsed = (Big1000*)(slab + (n - 1) * 1000);
        Big1000* somebodyElses = other.Allocate();
        Obj64* otherTypes = otherType.Allocate();
        void* foreignPage = NativeMemory.AlignedAlloc(4096, 4096);
        void* foreignHeap = NativeMemory.Alloc(64);
        try
        {
            var expectations = new List<(nint Pointer, AllocError Error, string What)>
            {
                (0, AllocError.NotFound, "null"),
                ((nint)foreignPage, AllocError.NotFound, "a foreign page"),
                ((nint)foreignHeap + 8, AllocError.NotFound, "foreign heap memory"),
                ((nint)somebodyElses, AllocError.NotFound, "another cache's object"),
                ((nint)otherTypes, AllocError.NotFound, "another type's cache"),
                (live[0] + 1, AllocError.NotAllocated, "a misaligned pointer"),
                (live[0] + 8, AllocError.NotAllocated, "an interior pointer"),
                (live[1] + 999, AllocError.NotAllocated, "the last byte of an object"),
                ((nint)freed, AllocError.NotAllocated, "a double free"),
                ((nint)neverUsed, AllocError.NotAllocated, "a slot never handed out"),
                ((nint)(slab + slabSize - 8), AllocError.NotAllocated, "the end of the slab"),
            };
            if (sizeType == ObjectSizeType.Small)
            {
                nuint infoOffset = ObjectCacheLayout.SmallInfoOffset(slabSize, (nuint)n);
                expectations.Add(((nint)(slab + infoOffset), AllocError.NotAllocated, "the slab info"));
            }

            var before = cache.Statistics;
            int slabsBefore = backend.OutstandingSlabs, infosBefore = backend.OutstandingInfos, pagesBefore = backend.SavedPages;
            foreach (var (pointer, error, what) in expectations)
            {
                var e = Assert.Throws<AllocatorException>(() => cache.Free((Big1000*)pointer));
                Assert.True(error == e.Error, $"{what}: expected {error}, got {e.Error} ({e.Message})");
                Assert.Contains($"0x{(nuint)pointer:x}", e.Message);
                Assert.Equal(before, cache.Statistics);
                Assert.Equal(slabsBefore, backend.OutstandingSlabs);
                Assert.Equal(infosBefore, backend.OutstandingInfos);
                Assert.Equal(pagesBefore, backend.SavedPages);
            }

            // Still fully usable: the freed slot and the untouched one are handed out, then a new slab.
            var got = new HashSet<nint> { (nint)cache.Allocate(), (nint)cache.Allocate() };
            Assert.Equal(new HashSet<nint> { (nint)freed, (nint)neverUsed }, got);
            Assert.Equal((nuint)1, cache.Statistics.FullSlabs);
            Big1000* fresh = cache.Allocate();
            Assert.True((byte*)fresh < slab || (byte*)fresh >= slab + slabSize);
            cache.Free(fresh);
            foreach (nint p in live.Concat(got))
                cache.Free((Big1000*)p);
            Assert.Equal((nuint)0, cache.Statistics.AllocatedObjects);
            other.Free(somebodyElses);
            otherType.Free(otherTypes);
        }
        finally
        {
            NativeMemory.AlignedFree(foreignPage);
            NativeMemory.Free(foreignHeap);
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void ObjectsOfAReleasedSlabAreNotFound(uint slabSize, ObjectSizeType sizeType)
    {
        using var backend = new RecordingBackend { Recording = false };
        using var cache = new ObjectCache<Big1000>(slabSize, 4096, sizeType, backend);
        Big1000* a = cache.Allocate();
        cache.Free(a);
        Assert.True(cache.Trim());
        // The slab went back to the backend; its addresses are no longer the cache's.
        Assert.Equal(AllocError.NotFound, Assert.Throws<AllocatorException>(() => cache.Free(a)).Error);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu)]
    [InlineData(0x0000_0003u)]
    [InlineData(0x0000_0005u)]
    [InlineData(0x1234_5678u)]
    public void AnOverwrittenFreeListLinkNeverHandsOutALiveObject(uint garbage)
    {
        using var backend = new RecordingBackend { Recording = false };
        using var cache = new ObjectCache<Obj64>(4096, 4096, ObjectSizeType.Small, backend);
        int n = (int)cache.Statistics.ObjectsPerSlab;
        var live = new HashSet<nint>();
        for (int i = 0; i < 10; i++)
            live.Add((nint)cache.Allocate());
        Obj64*[] gone = { (Obj64*)live.ElementAt(2), (Obj64*)live.ElementAt(7), (Obj64*)live.ElementAt(4) };
        foreach (Obj64* p in gone)
        {
            cache.Free(p);
            live.Remove((nint)p);
        }

        // Use after free: the program writes over the link in freed objects.
        foreach (Obj64* p in gone)
            *(uint*)p = garbage;

        // Double frees are still caught (the bitmap, not the link, decides).
        Assert.Equal(AllocError.NotAllocated, Assert.Throws<AllocatorException>(() => cache.Free(gone[1])).Error);

        // Filling the slab hands out every free slot exactly once and nothing live.
        for (int i = live.Count; i < n; i++)
        {
            nint p = (nint)cache.Allocate();
            Assert.True(live.Add(p), $"object 0x{p:x} handed out twice");
            Assert.InRange((nuint)p - (nuint)live.Min(), 0u, 4095u);
        }
        Assert.Equal((nuint)1, cache.Statistics.Slabs);
        Assert.Equal((nuint)1, cache.Statistics.FullSlabs);
        foreach (nint p in live)
            cache.Free((Obj64*)p);
        Assert.Equal((nuint)0, cache.Statistics.AllocatedObjects);
    }
}
