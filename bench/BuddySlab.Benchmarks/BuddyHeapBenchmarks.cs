using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace BuddySlab.Benchmarks;

/// <summary>
/// Mixed-size churn: 1,000 live blocks of 16..4096 bytes, each step frees a random one and allocates a new
/// random size in its place. One operation = one free plus one allocation.
/// </summary>
[MemoryDiagnoser]
public unsafe class BuddyHeapBenchmarks
{
    private const int Steps = 10_000;

    private ChurnPlan _plan = null!;
    private void* _memory;
    private BuddyHeap _heap = null!;
    private ChurnState _buddy = null!;
    private ChurnState _native = null!;

    [GlobalSetup]
    public void Setup()
    {
        _plan = new ChurnPlan(liveBlocks: 1000, steps: Steps, minSize: 16, maxSize: 4096, seed: 20240601);
        _memory = NativeMemory.AlignedAlloc(_plan.HeapSize, BuddyHeap.MaxAlignment);
        _heap = BuddyHeapChurn.CreateHeap(_plan, _memory);
        _buddy = new ChurnState(_plan.LiveBlocks);
        BuddyHeapChurn.Fill(_heap, _plan, _buddy);
        _native = new ChurnState(_plan.LiveBlocks);
        BuddyHeapChurn.FillNative(_plan, _native);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        BuddyHeapChurn.Drain(_heap, _buddy);
        BuddyHeapChurn.DrainNative(_native);
        NativeMemory.AlignedFree(_memory);
    }

    /// <summary>The churn through <see cref="NativeMemory"/> (the C runtime's malloc/free).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Steps)]
    public nint NativeMemoryAllocFree() => BuddyHeapChurn.RunNative(_plan, _native);

    /// <summary>The same churn through <see cref="BuddyHeap"/>.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public nint BuddyHeapAllocateDeallocate() => BuddyHeapChurn.Run(_heap, _plan, _buddy);
}
