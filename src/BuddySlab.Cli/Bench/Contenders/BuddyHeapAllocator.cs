using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// BuddySlab's <see cref="BuddyHeap"/> over one 64 MiB region from <see cref="NativeMemory.AlignedAlloc"/>, with
/// 16-byte minimum blocks (23 orders); <c>Allocate(size, 8)</c> and <c>Deallocate(block, size, 8)</c>.
/// <para>
/// The heap is <b>single-threaded</b>, so the registry enters this contender for <c>heap-churn</c> only (never a
/// threaded workload), and its block sizes, powers of two up to 4096 here, fit that workload's 1,000 live blocks
/// many times over. One heap per process, kept across repetitions like every other allocator's heap: a workload
/// frees all it allocated and merging is complete, so each run starts from the same one-block heap, with the
/// memory the previous runs touched already resident.
/// </para>
/// </summary>
public readonly unsafe struct BuddyHeapAllocator : IBenchAllocator<nint>
{
    public const nuint RegionBytes = 64 << 20;
    public const nuint MinBlockBytes = 16;
    public const nuint Alignment = 8;

    private static BuddyHeap? s_heap;
    private readonly BuddyHeap _heap;

    public BuddyHeapAllocator() => _heap = s_heap ??= Create();

    private static BuddyHeap Create()
    {
        void* region = NativeMemory.AlignedAlloc(RegionBytes, BuddyHeap.MaxAlignment);
        if (region == null) ContenderThrow.OutOfMemory("NativeMemory.AlignedAlloc", RegionBytes);
        int orders = BitOperations.Log2(RegionBytes) - BitOperations.Log2(MinBlockBytes) + 1;
        return new BuddyHeap(region, RegionBytes, orders);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size) => (nint)_heap.Allocate(size, Alignment);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _heap.Deallocate((void*)handle, size, Alignment);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}
