namespace BuddySlab.Tests.Allocator;

/// <summary>
/// Requests that cannot be met answer "no memory" at once and take nothing, and a heap with a budget can give one block
/// most of it.
/// </summary>
public unsafe class SizeLimitTests
{
    private const nuint MiB = 1 << 20;

    private static bool MachineHasLessThan1TiB => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes < 1L << 40;

    [Fact]
    public void AnImpossibleRequestAnswersAtOnceAndTakesNothing()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        nuint reserved = heap.ReservedBytes, managed = heap.ManagedBytes;
        Assert.False(heap.TryAllocate(nuint.MaxValue - 4096, 16, out void* none));
        Assert.True(none == null);
        Assert.False(heap.TryAllocate(nuint.MaxValue / 2 + 1, 16, out _));
        if (MachineHasLessThan1TiB)
        {
            Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => heap.Allocate((nuint)1 << 40)).Error);
            Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => heap.Allocate(16, (nuint)1 << 40)).Error);
            Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => heap.Allocator.AllocatePages((nuint)1 << 28, 4096)).Error);
        }
        Assert.Equal(reserved, heap.ReservedBytes);
        Assert.Equal(managed, heap.ManagedBytes);
        heap.Free(heap.Allocate(100));                      // and the heap goes on serving
    }

    [Theory]
    [InlineData(40)]
    [InlineData(48)]
    public void AHeapWithABudgetServesOneBlockOfThreeQuartersOfItWhenEmpty(int megabytes)
    {
        using var heap = new NativeHeap(new NativeHeapOptions { MaxBytes = 64 * MiB });
        byte* block = (byte*)heap.Allocate((nuint)megabytes * MiB);
        block[0] = 1;
        block[(nuint)megabytes * MiB - 1] = 2;
        Assert.Equal((nuint)megabytes * MiB, heap.UsableSize(block));
        // Every page of it finds the block (interior pointers are refused as such, not as strangers).
        var e = Assert.Throws<AllocatorException>(() => heap.Free(block + (nuint)megabytes * MiB - 4096));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.Contains($"inside the allocation at 0x{(nuint)block:x}", e.Message);
        heap.Free(block);
        BuddyInspector.CheckInvariants(heap.Allocator.Buddy);
        heap.Free(heap.Allocate((nuint)megabytes * MiB));   // and again, once it merged back
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }

    [Fact]
    public void ASpanningRunShrinksAndFreesLikeAnyOther()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { MaxBytes = 64 * MiB });
        byte* block = (byte*)heap.Allocate(44 * MiB);
        byte* smaller = (byte*)heap.Reallocate(block, 20 * MiB);      // shrinks in place, the tail pages go back
        Assert.True(block == smaller);
        var e = Assert.Throws<AllocatorException>(() => heap.Free(block + 30 * MiB));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.DoesNotContain("inside", e.Message);         // past the run's new end: free pages
        void* other = heap.Allocate(30 * MiB);
        heap.Free(smaller);
        heap.Free(other);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
        BuddyInspector.CheckInvariants(heap.Allocator.Buddy);
    }

    [Fact]
    public void InitialBytesBeyondTheMachinesMemoryAreRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new NativeHeap(new NativeHeapOptions { InitialBytes = nuint.MaxValue }));
        Assert.Contains("InitialBytes", e.Message);
    }

    [Fact]
    public void ASizedFreeOfNullDoesNothing()
    {
        using var h = new GlobalHarness();
        h.Allocator.Free(null, 64, 16);
        h.Allocator.Free(null);
        Assert.Equal(h.StartAllocatedBytes, h.Allocator.AllocatedBytes);
    }

    [Fact]
    public void ARequestThatFailsForWantOfMemoryAllocatesNoManagedBytes()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { MaxBytes = 16 * MiB });
        var blocks = new List<nint>();
        while (heap.TryAllocate(1 * MiB, 16, out void* p)) blocks.Add((nint)p);
        Assert.False(heap.TryAllocate(4 * MiB, 16, out _));            // warm: every path of a failure has run once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Assert.False(heap.TryAllocate(4 * MiB, 16, out _));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        foreach (nint p in blocks) heap.Free((void*)p);
    }
}
