using System.Numerics;
using System.Runtime.InteropServices;

namespace BuddySlab.Benchmarks;

/// <summary>
/// A precomputed churn workload: <see cref="LiveBlocks"/> blocks of random sizes stay live, and each step frees
/// one at random and allocates a new one of another random size in its slot. The same plan drives every
/// allocator, so their figures compare like for like.
/// </summary>
internal sealed class ChurnPlan
{
    public ChurnPlan(int liveBlocks, int steps, int minSize, int maxSize, int seed)
    {
        var random = new Random(seed);
        LiveBlocks = liveBlocks;
        MaxSize = maxSize;
        InitialSizes = new nuint[liveBlocks];
        for (int i = 0; i < liveBlocks; i++)
            InitialSizes[i] = (nuint)random.Next(minSize, maxSize + 1);
        Slots = new int[steps];
        Sizes = new nuint[steps];
        for (int i = 0; i < steps; i++)
        {
            Slots[i] = random.Next(liveBlocks);
            Sizes[i] = (nuint)random.Next(minSize, maxSize + 1);
        }
    }

    public int LiveBlocks { get; }

    public int MaxSize { get; }

    public int Steps => Slots.Length;

    public nuint[] InitialSizes { get; }

    public int[] Slots { get; }

    public nuint[] Sizes { get; }

    /// <summary>
    /// A heap that can never run out under this plan: room for one more largest block than there are live
    /// blocks, since each block sits in its own aligned slot of the largest block size.
    /// </summary>
    public nuint HeapSize => BitOperations.RoundUpToPowerOf2((nuint)(LiveBlocks + 1) * BitOperations.RoundUpToPowerOf2((nuint)MaxSize));
}

/// <summary>The live set of one allocator under a <see cref="ChurnPlan"/>: a block and its requested size per slot.</summary>
internal sealed class ChurnState(int liveBlocks)
{
    public nint[] Blocks { get; } = new nint[liveBlocks];

    public nuint[] Sizes { get; } = new nuint[liveBlocks];
}

/// <summary>Runs a <see cref="ChurnPlan"/> against a <see cref="BuddyHeap"/> or against <see cref="NativeMemory"/>.</summary>
internal static unsafe class BuddyHeapChurn
{
    public const nuint Alignment = 8;

    /// <summary>Creates a heap of <see cref="ChurnPlan.HeapSize"/> bytes with 16-byte minimum blocks over <paramref name="memory"/>.</summary>
    public static BuddyHeap CreateHeap(ChurnPlan plan, void* memory) =>
        new(memory, plan.HeapSize, BitOperations.Log2(plan.HeapSize) - 4 + 1);

    public static void Fill(BuddyHeap heap, ChurnPlan plan, ChurnState state)
    {
        for (int i = 0; i < plan.LiveBlocks; i++)
        {
            state.Blocks[i] = (nint)heap.Allocate(plan.InitialSizes[i], Alignment);
            state.Sizes[i] = plan.InitialSizes[i];
        }
    }

    /// <summary>Runs every step once; returns a checksum of the addresses so the work cannot be elided.</summary>
    public static nint Run(BuddyHeap heap, ChurnPlan plan, ChurnState state)
    {
        nint checksum = 0;
        int[] slots = plan.Slots;
        nuint[] sizes = plan.Sizes;
        nint[] blocks = state.Blocks;
        nuint[] liveSizes = state.Sizes;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            heap.Deallocate((void*)blocks[slot], liveSizes[slot], Alignment);
            nint block = (nint)heap.Allocate(sizes[i], Alignment);
            blocks[slot] = block;
            liveSizes[slot] = sizes[i];
            checksum ^= block;
        }
        return checksum;
    }

    public static void Drain(BuddyHeap heap, ChurnState state)
    {
        for (int i = 0; i < state.Blocks.Length; i++)
        {
            if (state.Blocks[i] != 0)
                heap.Deallocate((void*)state.Blocks[i], state.Sizes[i], Alignment);
            state.Blocks[i] = 0;
        }
    }

    public static void FillNative(ChurnPlan plan, ChurnState state)
    {
        for (int i = 0; i < plan.LiveBlocks; i++)
        {
            state.Blocks[i] = (nint)NativeMemory.Alloc(plan.InitialSizes[i]);
            state.Sizes[i] = plan.InitialSizes[i];
        }
    }

    /// <summary>The same steps through <see cref="NativeMemory.Alloc(nuint)"/> and <see cref="NativeMemory.Free"/>.</summary>
    public static nint RunNative(ChurnPlan plan, ChurnState state)
    {
        nint checksum = 0;
        int[] slots = plan.Slots;
        nuint[] sizes = plan.Sizes;
        nint[] blocks = state.Blocks;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            NativeMemory.Free((void*)blocks[slot]);
            nint block = (nint)NativeMemory.Alloc(sizes[i]);
            blocks[slot] = block;
            state.Sizes[slot] = sizes[i];
            checksum ^= block;
        }
        return checksum;
    }

    public static void DrainNative(ChurnState state)
    {
        for (int i = 0; i < state.Blocks.Length; i++)
        {
            NativeMemory.Free((void*)state.Blocks[i]);
            state.Blocks[i] = 0;
        }
    }
}
