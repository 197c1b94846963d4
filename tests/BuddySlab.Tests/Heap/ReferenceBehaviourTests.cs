namespace BuddySlab.Tests.Heap;

/// <summary>The expectations of the reference crate's own unit tests: a 256-byte heap with 5 orders (16-byte minimum).</summary>
public unsafe class ReferenceBehaviourTests
{
    private const nuint HeapSize = 256;

    [Fact]
    public void AllocationSizesAndOrders()
    {
        using var region = new NativeRegion(HeapSize);
        var heap = new BuddyHeap(region.Pointer, HeapSize, 5);

        Assert.Equal(HeapAllocationError.BadAlignment, SizeError(heap, 256, 8192));
        Assert.Equal(HeapAllocationError.TooLarge, SizeError(heap, 256, 256 * 2));

        Assert.Equal((nuint)16, heap.AllocationSize(0, 1));
        Assert.Equal((nuint)16, heap.AllocationSize(1, 1));
        Assert.Equal((nuint)16, heap.AllocationSize(16, 1));
        Assert.Equal((nuint)32, heap.AllocationSize(17, 1));
        Assert.Equal((nuint)32, heap.AllocationSize(32, 32));
        Assert.Equal((nuint)256, heap.AllocationSize(256, 256));
        Assert.Equal((nuint)64, heap.AllocationSize(16, 64));

        Assert.Equal(0, heap.AllocationOrder(0, 1));
        Assert.Equal(0, heap.AllocationOrder(1, 1));
        Assert.Equal(0, heap.AllocationOrder(16, 16));
        Assert.Equal(1, heap.AllocationOrder(32, 32));
        Assert.Equal(2, heap.AllocationOrder(64, 64));
        Assert.Equal(3, heap.AllocationOrder(128, 128));
        Assert.Equal(4, heap.AllocationOrder(256, 256));
        var tooLarge = Assert.Throws<BuddyHeapException>(() => heap.AllocationOrder(512, 512));
        Assert.Equal(HeapAllocationError.TooLarge, tooLarge.AllocationError);
    }

    [Fact]
    public void BuddiesDifferInTheirSizeBit()
    {
        using var region = new NativeRegion(HeapSize);
        var heap = new BuddyHeap(region.Pointer, HeapSize, 5);
        byte* mem = region.Pointer;

        Assert.True(heap.Buddy(0, mem) == mem + 16);
        Assert.True(heap.Buddy(0, mem + 16) == mem);
        Assert.True(heap.Buddy(1, mem) == mem + 32);
        Assert.True(heap.Buddy(1, mem + 32) == mem);
        Assert.True(heap.Buddy(1, mem + 64) == mem + 96);
        Assert.True(heap.Buddy(1, mem + 96) == mem + 64);
        Assert.True(heap.Buddy(4, mem) == null);
    }

    [Fact]
    public void AllocateAndDeallocateAtTheReferenceAddresses()
    {
        using var region = new NativeRegion(HeapSize);
        var heap = new BuddyHeap(region.Pointer, HeapSize, 5);

        void* block16At0 = heap.Allocate(8, 8);
        Assert.Equal((nuint)0, region.OffsetOf(block16At0));

        Assert.Equal(HeapAllocationError.TooLarge, AllocError(heap, HeapSize, 4096));
        Assert.Equal(HeapAllocationError.HeapExhausted, AllocError(heap, HeapSize, HeapSize));

        void* block16At16 = heap.Allocate(8, 8);
        Assert.Equal((nuint)16, region.OffsetOf(block16At16));
        void* block16At32 = heap.Allocate(8, 8);
        Assert.Equal((nuint)32, region.OffsetOf(block16At32));
        void* block32At64 = heap.Allocate(32, 32);
        Assert.Equal((nuint)64, region.OffsetOf(block32At64));
        void* block16At48 = heap.Allocate(8, 8);
        Assert.Equal((nuint)48, region.OffsetOf(block16At48));
        void* block128At128 = heap.Allocate(128, 128);
        Assert.Equal((nuint)128, region.OffsetOf(block128At128));

        // 32 bytes are free at offset 96, but no 64-byte block.
        Assert.Equal(HeapAllocationError.HeapExhausted, AllocError(heap, 64, 64));
        Assert.Equal((nuint)32, heap.FreeBytes);

        heap.Deallocate(block32At64, 32, 32);
        heap.Deallocate(block16At0, 8, 8);
        heap.Deallocate(block16At48, 8, 8);
        heap.Deallocate(block16At16, 8, 8);
        heap.Deallocate(block16At32, 8, 8);

        void* block128At0 = heap.Allocate(128, 128);
        Assert.Equal((nuint)0, region.OffsetOf(block128At0));

        heap.Deallocate(block128At128, 128, 128);
        heap.Deallocate(block128At0, 128, 128);

        // Everything merged back: the whole heap is one block again.
        void* whole = heap.Allocate(256, 256);
        Assert.Equal((nuint)0, region.OffsetOf(whole));
        Assert.Equal((nuint)0, heap.FreeBytes);
        heap.CheckInvariants();
    }

    private static HeapAllocationError? SizeError(BuddyHeap heap, nuint size, nuint alignment) =>
        Assert.Throws<BuddyHeapException>(() => heap.AllocationSize(size, alignment)).AllocationError;

    private static HeapAllocationError AllocError(BuddyHeap heap, nuint size, nuint alignment)
    {
        Assert.False(heap.TryAllocate(size, alignment, out void* block, out HeapAllocationError error));
        Assert.True(block == null);
        var thrown = Assert.Throws<BuddyHeapException>(() => heap.Allocate(size, alignment));
        Assert.Equal(error, thrown.AllocationError);
        Assert.Null(thrown.HeapError);
        Assert.Null(thrown.DeallocationError);
        return error;
    }
}
