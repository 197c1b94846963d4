using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Allocator;

/// <summary>A block goes back only through the API it came from: page runs from <c>AllocatePages</c> through
/// <c>FreePages</c>, blocks from <c>Allocate</c> through <c>Free</c>, so memory another allocator was given (an object
/// cache's slabs, a buddy heap's region) cannot be freed from under it.</summary>
public unsafe class OwnershipTests
{
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    private struct P40 { public long A; }

    [Fact]
    public void AnObjectCachesSlabCannotBeFreedThroughTheHeap()
    {
        using var cache = new ObjectCache<P40>();           // slabs are NativeHeap.Shared pages
        P40* first = cache.Allocate();
        Assert.Equal((nuint)0, (nuint)first % 4096);          // the first object starts its slab's page
        var e = Assert.Throws<AllocatorException>(() => NativeHeap.Shared.Free(first));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.Contains("AllocatePages", e.Message);
        // The cache is intact: every object it hands out afterwards is its own and distinct.
        var objects = new HashSet<nint> { (nint)first };
        for (int i = 0; i < 10_000; i++) Assert.True(objects.Add((nint)cache.Allocate()));
        foreach (nint p in objects) cache.Free((P40*)p);
    }

    [Fact]
    public void PagesAndBlocksGoBackOnlyThroughTheirOwnApi()
    {
        using var h = new GlobalHarness();
        GlobalAllocator a = h.Allocator;
        foreach (nuint count in new nuint[] { 1, 4, 16, 40 })
        {
            nuint run = a.AllocatePages(count, 4096);
            var e = Assert.Throws<AllocatorException>(() => a.Free((void*)run));
            Assert.Contains("free it with FreePages", e.Message);
            Assert.Throws<AllocatorException>(() => a.Free((void*)run, count * 4096, 16));
            Assert.Throws<AllocatorException>(() => a.Reallocate((void*)run, 10));
            Assert.Throws<AllocatorException>(() => a.UsableSize((void*)run));
            a.FreePages(run, count);

            void* block = a.Allocate(count * 4096);
            e = Assert.Throws<AllocatorException>(() => a.FreePages((nuint)block, count));
            Assert.Contains("free it with Free", e.Message);
            a.Free(block);
        }
        h.AssertAllPagesBack();
    }

    [Fact]
    public void ABuddyHeapsRegionFromAllocatePagesCannotBeFreedThroughTheHeap()
    {
        using var h = new GlobalHarness();
        GlobalAllocator a = h.Allocator;
        nuint region = a.AllocatePages(256, 1 << 20);        // 1 MiB, aligned for the heap
        var heap = new BuddyHeap((void*)region, 1 << 20, orders: 17);
        void* first = heap.Allocate(100, 8);
        Assert.Equal(region, (nuint)first);
        Assert.Throws<AllocatorException>(() => a.Free(first));
        heap.Deallocate(first, 100, 8);
        a.FreePages(region, 256);
        h.AssertAllPagesBack();
    }
}
