namespace BuddySlab.Tests.Heap;

public unsafe class BuddyHeapZeroAllocationTests
{
    private const int LiveBlocks = 512;
    private const int Operations = 100_000;
    private const int HeapSize = 4 << 20;

    [Fact]
    public void AllocateAndDeallocateAllocateNoManagedMemory()
    {
        // 512 live blocks of at most 4 KiB always fit: 4 MiB holds 1024 aligned 4 KiB blocks.
        using var region = new NativeRegion(HeapSize);
        var heap = new BuddyHeap(region.Pointer, HeapSize, 19); // 16-byte blocks
        var random = new Random(42);
        var sizes = new nuint[Operations];
        var slots = new int[Operations];
        for (int i = 0; i < Operations; i++)
        {
            sizes[i] = (nuint)random.Next(0, 4097);
            slots[i] = random.Next(LiveBlocks);
        }
        var blocks = new nint[LiveBlocks];
        var blockSizes = new nuint[LiveBlocks];

        // Warm up: JIT every path (including the refusals) before measuring.
        Churn(heap, sizes, slots, blocks, blockSizes);
        Churn(heap, sizes, slots, blocks, blockSizes);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int allocations = Churn(heap, sizes, slots, blocks, blockSizes);
        long after = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(0, after - before);
        Assert.Equal(Operations, allocations);
        ReleaseAll(heap, blocks, blockSizes);
        Assert.Equal((nuint)HeapSize, heap.FreeBytes);
    }

    private static int Churn(BuddyHeap heap, nuint[] sizes, int[] slots, nint[] blocks, nuint[] blockSizes)
    {
        int allocations = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            int slot = slots[i];
            if (blocks[slot] != 0)
                heap.Deallocate((void*)blocks[slot], blockSizes[slot], 8);
            if ((i & 1) == 0)
            {
                blocks[slot] = (nint)heap.Allocate(sizes[i], 8);
                allocations++;
            }
            else if (heap.TryAllocate(sizes[i], 8, out void* block, out _))
            {
                blocks[slot] = (nint)block;
                allocations++;
            }
            else
            {
                blocks[slot] = 0;
            }
            blockSizes[slot] = sizes[i];
            // Refusals (bad alignment, too large, exhausted) go through the same non-throwing path.
            heap.TryAllocate(sizes[i], 3, out _, out _);
            heap.TryAllocate(HeapSize + 1, 8, out _, out _);
            heap.TryAllocate(HeapSize, 8, out _, out _);
        }
        return allocations;
    }

    private static void ReleaseAll(BuddyHeap heap, nint[] blocks, nuint[] blockSizes)
    {
        for (int slot = 0; slot < blocks.Length; slot++)
        {
            if (blocks[slot] != 0)
                heap.Deallocate((void*)blocks[slot], blockSizes[slot], 8);
            blocks[slot] = 0;
        }
    }
}
