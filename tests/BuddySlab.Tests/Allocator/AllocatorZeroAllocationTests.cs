namespace BuddySlab.Tests.Allocator;

/// <summary>The allocate, free and reallocate paths allocate no managed memory once the heap is warm.</summary>
public unsafe class AllocatorZeroAllocationTests
{
    [Fact]
    public void AMillionMixedOperationsAllocateNoManagedBytes()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 256 << 20 });
        var rng = new Random(9);
        const int Slots = 4096;
        var sizes = new nuint[Slots];
        for (int i = 0; i < Slots; i++) sizes[i] = (nuint)(rng.Next(16) == 0 ? rng.Next(2049, 32768) : rng.Next(0, 2049));
        var ops = new byte[1 << 16];
        rng.NextBytes(ops);
        var live = new nint[Slots];
        var liveSize = new nuint[Slots];

        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                int slot = (int)((uint)(i * 2654435761u) % Slots);
                byte op = ops[i & (ops.Length - 1)];
                if (live[slot] == 0)
                {
                    nuint size = sizes[(slot + i) % Slots];
                    live[slot] = (nint)heap.Allocate(size);
                    liveSize[slot] = size;
                }
                else if (op < 32)
                {
                    nuint size = sizes[(slot + op) % Slots];
                    live[slot] = (nint)heap.Reallocate((void*)live[slot], size);
                    liveSize[slot] = size;
                }
                else
                {
                    if (op < 140) heap.Free((void*)live[slot]);
                    else heap.Free((void*)live[slot], liveSize[slot], INativeAllocator.DefaultAlignment(liveSize[slot]));
                    live[slot] = 0;
                }
            }
        }

        Run(200_000);   // warm: slabs exist, tiering has settled
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(1_000_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);

        for (int i = 0; i < Slots; i++) if (live[i] != 0) heap.Free((void*)live[i]);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }
}
