namespace BuddySlab.Tests.Objects;

/// <summary>Allocate and Free allocate no managed memory, even while slabs come and go.</summary>
public unsafe class ObjectCacheAllocationFreeTests
{
    [Theory]
    [InlineData(4096u, ObjectSizeType.Small)]
    [InlineData(8192u, ObjectSizeType.Small)]
    [InlineData(4096u, ObjectSizeType.Large)]
    public void HundredThousandOperationsAllocateNoManagedMemory(uint slabSize, ObjectSizeType sizeType)
    {
        var pages = new NativePages(4096);
        using var cache = new ObjectCache<Obj64>(slabSize, 4096, sizeType, pages.CreateBackend());
        const int batch = 1000;
        var objects = new nint[batch];
        int[] freeOrder = Enumerable.Range(0, batch).ToArray();
        new Random(11).Shuffle(freeOrder);

        void Round()
        {
            for (int i = 0; i < batch; i++)
                objects[i] = (nint)cache.Allocate();
            foreach (int i in freeOrder)
                cache.Free((Obj64*)objects[i]);
            // A tight pair on the kept slab as well.
            for (int i = 0; i < 100; i++)
                cache.Free(cache.Allocate());
        }

        // Warm up the cache, its side table and the JIT: past the 30 calls after which the runtime recompiles Round,
        // since that promotion may allocate on the calling thread (which is not the cache's doing).
        for (int i = 0; i < 40; i++)
            Round();
        long callsBefore = pages.Calls;
        long allocated = long.MaxValue;
        for (int attempt = 0; attempt < 3 && allocated != 0; attempt++)   // a runtime's own one-off allocation may still land in one window
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 45; i++)
                Round(); // 45 * (2,000 + 200) = 99,000 operations
            for (int i = 0; i < 500; i++)
                cache.Free(cache.Allocate());
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
        Assert.True(pages.Calls > callsBefore, "slabs should come and go during the measurement");
        cache.Dispose();
        Assert.Equal(0, pages.PagesOut);
    }
}
