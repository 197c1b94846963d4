namespace BuddySlab.Tests.Heap;

/// <summary>
/// Frees the reference cannot survive. Layout: a 256-byte heap with 16-byte blocks, a live 16-byte block at 0
/// and a live 64-byte block at 64; free blocks of 16 at 16, 32 at 32 and 128 at 128.
/// </summary>
public unsafe class DeallocationTests : IDisposable
{
    private readonly NativeRegion _region = new(256);
    private readonly BuddyHeap _heap;
    private readonly void* _small;
    private readonly void* _medium;

    public DeallocationTests()
    {
        _heap = new BuddyHeap(_region.Pointer, 256, 5);
        _small = _heap.Allocate(10, 1);
        _medium = _heap.Allocate(64, 1);
        Assert.Equal((nuint)0, _region.OffsetOf(_small));
        Assert.Equal((nuint)64, _region.OffsetOf(_medium));
    }

    public void Dispose() => _region.Dispose();

    public static TheoryData<long, ulong, ulong, HeapDeallocationError> PointerCases => new()
    {
        { -16, 16, 1, HeapDeallocationError.ForeignPointer },
        { -4096, 16, 1, HeapDeallocationError.ForeignPointer },
        { 256, 16, 1, HeapDeallocationError.ForeignPointer },
        { 4096, 64, 1, HeapDeallocationError.ForeignPointer },
        { 8, 16, 1, HeapDeallocationError.NotBlockStart },        // inside the 16-byte block
        { 1, 1, 1, HeapDeallocationError.NotBlockStart },
        { 80, 16, 16, HeapDeallocationError.NotBlockStart },      // inside the 64-byte block, 16-aligned
        { 96, 32, 32, HeapDeallocationError.NotBlockStart },
        { 127, 1, 1, HeapDeallocationError.NotBlockStart },
        { 16, 16, 1, HeapDeallocationError.NotAllocated },        // start of a free block: never handed out
        { 32, 32, 1, HeapDeallocationError.NotAllocated },
        { 48, 16, 1, HeapDeallocationError.NotAllocated },        // inside a free block
        { 128, 128, 1, HeapDeallocationError.NotAllocated },
        { 200, 8, 8, HeapDeallocationError.NotAllocated },
        { 0, 32, 1, HeapDeallocationError.SizeMismatch },         // the 16-byte block freed as 32 bytes
        { 0, 8, 64, HeapDeallocationError.SizeMismatch },         // ... or with an alignment that makes it 64
        { 64, 16, 1, HeapDeallocationError.SizeMismatch },        // the 64-byte block freed as 16 bytes
        { 64, 128, 1, HeapDeallocationError.SizeMismatch },       // ... or as 128 (its offset is not even 128-aligned)
        { 64, 256, 1, HeapDeallocationError.SizeMismatch },
    };

    [Theory]
    [MemberData(nameof(PointerCases))]
    public void BadPointersAreRefusedAndLeaveTheHeapIntact(long offset, ulong size, ulong alignment, HeapDeallocationError expected)
    {
        void* pointer = _region.Pointer + offset;
        AssertRefused(pointer, (nuint)size, (nuint)alignment, expected);
        FreeEverythingAndCheckTheWholeHeapComesBack();
    }

    [Fact]
    public void NullIsAForeignPointer()
    {
        AssertRefused(null, 16, 1, HeapDeallocationError.ForeignPointer);
        AssertRefused((void*)1, 16, 1, HeapDeallocationError.ForeignPointer);
        FreeEverythingAndCheckTheWholeHeapComesBack();
    }

    [Fact]
    public void DoubleFreesAreRefusedAfterMerging()
    {
        _heap.Deallocate(_small, 10, 1);
        // The block merged with its free neighbours into a free 64-byte block at 0.
        Assert.Equal(new nuint[] { 0 }, _heap.FreeListOffsets()[2]);
        AssertRefused(_small, 10, 1, HeapDeallocationError.NotAllocated);

        _heap.Deallocate(_medium, 64, 1);
        AssertRefused(_medium, 64, 1, HeapDeallocationError.NotAllocated);
        AssertRefused(_small, 10, 1, HeapDeallocationError.NotAllocated);
        Assert.Equal((nuint)256, _heap.FreeBytes);
        Assert.True(_heap.Allocate(256, 1) == _region.Pointer);
    }

    [Fact]
    public void DoubleFreeWithoutAMergeIsRefused()
    {
        void* neighbour = _heap.Allocate(16, 1);
        Assert.Equal((nuint)16, _region.OffsetOf(neighbour));
        _heap.Deallocate(neighbour, 16, 1);
        AssertRefused(neighbour, 16, 1, HeapDeallocationError.NotAllocated);
        FreeEverythingAndCheckTheWholeHeapComesBack();
    }

    [Theory]
    [InlineData(16, 3, HeapAllocationError.BadAlignment)]
    [InlineData(16, 0, HeapAllocationError.BadAlignment)]
    [InlineData(16, 8192, HeapAllocationError.BadAlignment)]
    [InlineData(512, 1, HeapAllocationError.TooLarge)]
    [InlineData(16, 4096, HeapAllocationError.TooLarge)]
    public void LayoutsNoAllocationCanHaveAreRefusedFirst(ulong size, ulong alignment, HeapAllocationError expected)
    {
        string before = HeapSnapshot.Take(_heap);
        foreach (nuint pointer in new nuint[] { (nuint)_small, (nuint)_medium, 0, (nuint)(_region.Pointer + 8) })
        {
            var thrown = Assert.Throws<BuddyHeapException>(() => _heap.Deallocate((void*)pointer, (nuint)size, (nuint)alignment));
            Assert.Equal(expected, thrown.AllocationError);
            Assert.Null(thrown.DeallocationError);
        }
        Assert.Equal(before, HeapSnapshot.Take(_heap));
        FreeEverythingAndCheckTheWholeHeapComesBack();
    }

    [Fact]
    public void AnyLayoutOfTheSameBlockSizeIsAccepted()
    {
        // Allocated as (64, 1); (33, 64) maps to the same 64-byte block.
        _heap.Deallocate(_medium, 33, 64);
        _heap.Deallocate(_small, 16, 16);
        Assert.Equal((nuint)256, _heap.FreeBytes);
        Assert.True(_heap.Allocate(256, 1) == _region.Pointer);
    }

    private void AssertRefused(void* pointer, nuint size, nuint alignment, HeapDeallocationError expected)
    {
        string before = HeapSnapshot.Take(_heap);
        var thrown = Assert.Throws<BuddyHeapException>(() => _heap.Deallocate(pointer, size, alignment));
        Assert.Equal(expected, thrown.DeallocationError);
        Assert.Null(thrown.AllocationError);
        Assert.Null(thrown.HeapError);
        Assert.Contains($"0x{(nuint)pointer:x}", thrown.Message);
        Assert.Equal(before, HeapSnapshot.Take(_heap));
    }

    private void FreeEverythingAndCheckTheWholeHeapComesBack()
    {
        // The next allocation still lands where the reference would put it.
        Assert.True(_heap.Allocate(16, 1) == _region.At(16));
        _heap.Deallocate(_region.At(16), 16, 1);
        _heap.Deallocate(_medium, 64, 1);
        _heap.Deallocate(_small, 10, 1);
        Assert.Equal((nuint)256, _heap.FreeBytes);
        Assert.True(_heap.Allocate(256, 1) == _region.Pointer);
    }
}
