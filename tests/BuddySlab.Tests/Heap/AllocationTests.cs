namespace BuddySlab.Tests.Heap;

public unsafe class AllocationTests
{
    [Theory]
    [InlineData(16, 0)]
    [InlineData(16, 3)]
    [InlineData(16, 48)]
    [InlineData(16, 8192)]
    [InlineData(16, 1 << 20)]
    [InlineData(100_000, 8192)]         // too large as well: the alignment is reported
    [InlineData(ulong.MaxValue, 6)]
    [InlineData(16, ulong.MaxValue)]
    [InlineData(16, 1UL << 63)]
    public void BadAlignmentsAreRefused(ulong size, ulong alignment) =>
        AssertRefused(1024, 6, (nuint)size, (nuint)alignment, HeapAllocationError.BadAlignment);

    [Theory]
    [InlineData(1025, 1)]
    [InlineData(2048, 1)]
    [InlineData(ulong.MaxValue, 1)]
    [InlineData(1UL << 63, 4096)]
    [InlineData(0, 2048)]                // the alignment alone needs a block larger than the heap
    [InlineData(1, 4096)]
    public void RequestsLargerThanTheHeapAreRefused(ulong size, ulong alignment) =>
        AssertRefused(1024, 6, (nuint)size, (nuint)alignment, HeapAllocationError.TooLarge);

    [Fact]
    public void ExhaustionIsReportedAndLeavesTheHeapUsable()
    {
        using var region = new NativeRegion(1024);
        var heap = new BuddyHeap(region.Pointer, 1024, 6);
        void* half = heap.Allocate(512, 1);
        void* quarter = heap.Allocate(200, 4);
        Assert.Equal((nuint)256, heap.FreeBytes);

        string before = HeapSnapshot.Take(heap);
        Assert.False(heap.TryAllocate(512, 1, out void* none, out HeapAllocationError error));
        Assert.True(none == null);
        Assert.Equal(HeapAllocationError.HeapExhausted, error);
        var thrown = Assert.Throws<BuddyHeapException>(() => heap.Allocate(257, 1));
        Assert.Equal(HeapAllocationError.HeapExhausted, thrown.AllocationError);
        // Sizing never depends on what is free.
        Assert.Equal((nuint)512, heap.AllocationSize(257, 1));
        Assert.Equal(before, HeapSnapshot.Take(heap));

        Assert.True(heap.Allocate(256, 256) == region.At(768));
        heap.Deallocate(region.At(768), 256, 256);
        heap.Deallocate(quarter, 200, 4);
        heap.Deallocate(half, 512, 1);
        Assert.True(heap.Allocate(1024, 1) == region.Pointer);
    }

    [Fact]
    public void ZeroBytesTakeOneMinimumBlock()
    {
        using var region = new NativeRegion(256);
        var heap = new BuddyHeap(region.Pointer, 256, 5);
        Assert.Equal((nuint)16, heap.AllocationSize(0, 1));
        void* a = heap.Allocate(0, 1);
        void* b = heap.Allocate(0, 1);
        Assert.Equal((nuint)16, region.OffsetOf(b) - region.OffsetOf(a));
        Assert.Equal((nuint)(256 - 32), heap.FreeBytes);
    }

    [Fact]
    public void EightByteBlocksHoldTheirLinksAndFillTheHeap()
    {
        // 256 >> 5 = 8 bytes: the smallest minimum block the reference accepts on 64-bit.
        using var region = new NativeRegion(256);
        var heap = new BuddyHeap(region.Pointer, 256, 6);
        var blocks = new List<nuint>();
        for (int i = 0; i < 32; i++)
        {
            void* p = heap.Allocate(1, 1);
            blocks.Add(region.OffsetOf(p));
            *(ulong*)p = ulong.MaxValue; // a live block belongs to its owner, links and all
        }
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (nuint)(8 * i)), blocks);
        Assert.Equal((nuint)0, heap.FreeBytes);
        Assert.False(heap.TryAllocate(1, 1, out _, out HeapAllocationError error));
        Assert.Equal(HeapAllocationError.HeapExhausted, error);

        // Free in a scrambled order so that removals hit heads, middles and tails of the lists.
        var random = new Random(8);
        foreach (nuint offset in blocks.OrderBy(_ => random.Next()))
        {
            heap.Deallocate(region.At(offset), 8, 8);
            heap.CheckInvariants();
        }
        Assert.Equal((nuint)256, heap.FreeBytes);
        Assert.True(heap.Allocate(256, 1) == region.Pointer);
    }

    private static void AssertRefused(nuint heapSize, int orders, nuint size, nuint alignment, HeapAllocationError expected)
    {
        using var region = new NativeRegion(heapSize);
        var heap = new BuddyHeap(region.Pointer, heapSize, orders);
        void* first = heap.Allocate(1, 1);
        string before = HeapSnapshot.Take(heap);

        Assert.False(heap.TryAllocate(size, alignment, out void* block, out HeapAllocationError error));
        Assert.True(block == null);
        Assert.Equal(expected, error);
        var thrown = Assert.Throws<BuddyHeapException>(() => heap.Allocate(size, alignment));
        Assert.Equal(expected, thrown.AllocationError);
        Assert.Null(thrown.HeapError);
        Assert.Null(thrown.DeallocationError);
        Assert.Equal(expected, Assert.Throws<BuddyHeapException>(() => heap.AllocationSize(size, alignment)).AllocationError);
        Assert.Equal(before, HeapSnapshot.Take(heap));

        // The heap goes on exactly as it would have.
        Assert.True(heap.Allocate(1, 1) == region.At(heap.MinBlockSize));
        heap.Deallocate(region.At(heap.MinBlockSize), 1, 1);
        heap.Deallocate(first, 1, 1);
        Assert.True(heap.Allocate(heapSize, 1) == region.Pointer);
    }
}
