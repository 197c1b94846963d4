namespace BuddySlab.Tests.Heap;

/// <summary>
/// Creation rules and their order. The constructor touches no memory, so most cases use made-up addresses.
/// </summary>
public unsafe class ConstructionTests
{
    private const nuint Aligned = 0x10_0000;

    public static TheoryData<nuint, nuint, int, HeapError> Cases => new()
    {
        // Base alignment comes first, whatever else is wrong.
        { Aligned + 8, 256, 5, HeapError.BadBaseAlignment },
        { Aligned + 2048, 100, 0, HeapError.BadBaseAlignment },
        { 0, 256, 5, HeapError.BadBaseAlignment },
        // No orders means no block size at all; checked before the minimum block.
        { Aligned, 256, 0, HeapError.BadHeapSize },
        { Aligned, 256, -3, HeapError.BadHeapSize },
        { Aligned, 0, 0, HeapError.BadHeapSize },
        { Aligned, 100, int.MinValue, HeapError.BadHeapSize },
        // The minimum block is checked before the size being a power of two, as in the reference.
        { Aligned, 256, 6 + 1, HeapError.MinBlockTooSmall },   // 256 >> 6 = 4
        { Aligned, 100, 5, HeapError.MinBlockTooSmall },       // 100 >> 4 = 6, and 100 is not a power of two
        { Aligned, 0, 1, HeapError.MinBlockTooSmall },
        { Aligned, 7, 1, HeapError.MinBlockTooSmall },
        // Shifts of the word size or more mean a zero-byte block, never a wrapped shift.
        { Aligned, 256, 64, HeapError.MinBlockTooSmall },
        { Aligned, 256, 65, HeapError.MinBlockTooSmall },
        { Aligned, 256, 129, HeapError.MinBlockTooSmall },
        { Aligned, 256, int.MaxValue, HeapError.MinBlockTooSmall },
        { Aligned, (nuint)1 << 63, 64, HeapError.MinBlockTooSmall },
        { Aligned, 3 * 4096, 2, HeapError.BadSizeAlignment },
        { Aligned, 4095, 1, HeapError.BadSizeAlignment },
        { Aligned, 257 * 16, 5, HeapError.BadSizeAlignment },
        // Valid for the reference, but more than 2^31 minimum blocks.
        { Aligned, (nuint)1 << 35, 33, HeapError.TooManyOrders },
        { Aligned, (nuint)1 << 40, 36, HeapError.TooManyOrders },
        // A heap whose last byte would lie past the end of the address space.
        { nuint.MaxValue - 4095, 8192, 2, HeapError.BadHeapSize },
        { ((nuint)1 << 63) + 4096, (nuint)1 << 63, 2, HeapError.BadHeapSize },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InvalidArgumentsReportTheFirstBrokenRule(nuint address, nuint size, int orders, HeapError expected)
    {
        var thrown = Assert.Throws<BuddyHeapException>(() => new BuddyHeap((void*)address, size, orders));
        Assert.Equal(expected, thrown.HeapError);
        Assert.Null(thrown.AllocationError);
        Assert.Null(thrown.DeallocationError);
        Assert.False(string.IsNullOrWhiteSpace(thrown.Message));

        Assert.False(BuddyHeap.TryCreate((void*)address, size, orders, out BuddyHeap? heap, out HeapError error));
        Assert.Null(heap);
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData(256, 5, 16)]
    [InlineData(256, 6, 8)]       // the reference's smallest block on 64-bit: one pointer
    [InlineData(8, 1, 8)]         // a heap of one minimum block
    [InlineData(4096, 1, 4096)]
    [InlineData(1 << 20, 18, 8)]
    [InlineData(1 << 20, 20, 2)]  // rejected below
    public void ValidArgumentsGiveTheReferenceMinimumBlock(int size, int orders, int minBlock)
    {
        using var region = new NativeRegion((nuint)size);
        bool valid = minBlock >= BuddyHeap.SmallestMinBlockSize;
        Assert.Equal(valid, BuddyHeap.TryCreate(region.Pointer, (nuint)size, orders, out BuddyHeap? heap, out HeapError error));
        if (!valid)
        {
            Assert.Equal(HeapError.MinBlockTooSmall, error);
            return;
        }
        Assert.NotNull(heap);
        Assert.Equal((nuint)size, heap.HeapSize);
        Assert.Equal((nuint)minBlock, heap.MinBlockSize);
        Assert.Equal(orders, heap.Orders);
        Assert.Equal((nuint)size, heap.FreeBytes);
        Assert.True(heap.HeapBase == region.Pointer);

        var constructed = new BuddyHeap(region.Pointer, (nuint)size, orders);
        Assert.Equal((nuint)minBlock, constructed.MinBlockSize);
    }

    [Fact]
    public void CreatingAHeapWritesNothingIntoItsMemory()
    {
        using var region = new NativeRegion(4096, fill: 0x5C);
        var heap = new BuddyHeap(region.Pointer, 4096, 9);
        for (nuint i = 0; i < region.Size; i++)
            Assert.Equal(0x5C, region.Pointer[i]);

        // Taking the whole heap straight away reads nothing from it either.
        Assert.True(heap.Allocate(4096, 1) == region.Pointer);
        for (nuint i = 0; i < region.Size; i++)
            Assert.Equal(0x5C, region.Pointer[i]);
        heap.Deallocate(region.Pointer, 4096, 1);
        Assert.Equal((nuint)4096, heap.FreeBytes);
        heap.CheckInvariants();
    }
}
