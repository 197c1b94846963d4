using System.Buffers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BuddySlab;

/// <summary>
/// The small-object fast paths under BenchmarkDotNet: <see cref="NativeHeap"/> (unsized and sized frees, and through
/// the thread's <see cref="ThreadHeap"/>) against
/// <see cref="NativeMemory"/> and <see cref="ArrayPool{T}.Shared"/>, for the churn, ring and batch workloads of
/// <c>buddyslab bench</c>. [MemoryDiagnoser] shows that the heap allocates no managed memory.
/// Run: dotnet run -c Release --project bench/BuddySlab.Benchmarks -- --filter '*NativeHeap*'
/// </summary>
[MemoryDiagnoser]
public unsafe class NativeHeapBenchmarks
{
    private const int Ring = 1_000;
    private const int RingSteps = 10_000;
    private NativeHeap _heap = null!;
    private nuint[] _sizes = [];
    private int[] _slots = [];
    private readonly nint[] _heapRing = new nint[Ring];      // each allocator keeps its own live set
    private readonly nuint[] _heapSizes = new nuint[Ring];
    private readonly nint[] _nativeRing = new nint[Ring];
    private readonly byte[]?[] _pooled = new byte[]?[Ring];
    private nint[] _batch = [];

    /// <summary>Objects per batch for the batch benchmarks.</summary>
    [Params(10_000, 100_000)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _heap = new NativeHeap();
        var random = new Random(7);
        _sizes = Enumerable.Range(0, Math.Max(RingSteps, Batch)).Select(_ => (nuint)Math.Pow(2, 3 + random.NextDouble() * 8)).ToArray();
        _slots = Enumerable.Range(0, RingSteps).Select(_ => random.Next(Ring)).ToArray();
        _batch = new nint[Batch];
        for (int i = 0; i < Ring; i++)
        {
            _heapSizes[i] = _sizes[i];
            _heapRing[i] = (nint)_heap.Allocate(_sizes[i]);
            _nativeRing[i] = (nint)NativeMemory.Alloc(_sizes[i]);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (nint p in _nativeRing) NativeMemory.Free((void*)p);
        _heap.Dispose();
    }

    /// <summary>The i-th object to free in a batch: a fixed permutation (7919 is prime, coprime with the batch sizes).</summary>
    private int Shuffled(int i) => (int)((long)i * 7919 % Batch);

    [Benchmark(OperationsPerInvoke = 1_000)]
    public void Churn64_NativeHeap()
    {
        for (int i = 0; i < 1_000; i++)
        {
            void* p = _heap.Allocate(64);
            *(int*)p = i;
            _heap.Free(p, 64, 16);
        }
    }

    [Benchmark(OperationsPerInvoke = 1_000)]
    public void Churn64_ThreadHeap()
    {
        ThreadHeap heap = _heap.ForCurrentThread();        // once per 1,000 pairs: the handle skips the thread-static lookup
        for (int i = 0; i < 1_000; i++)
        {
            void* p = heap.Allocate(64);
            *(int*)p = i;
            heap.Free(p, 64, 16);
        }
    }

    [Benchmark(OperationsPerInvoke = 1_000, Baseline = true)]
    public void Churn64_NativeMemory()
    {
        for (int i = 0; i < 1_000; i++)
        {
            void* p = NativeMemory.Alloc(64);
            *(int*)p = i;
            NativeMemory.Free(p);
        }
    }

    [Benchmark(OperationsPerInvoke = 1_000)]
    public void Churn64_ArrayPool()
    {
        for (int i = 0; i < 1_000; i++)
        {
            byte[] a = ArrayPool<byte>.Shared.Rent(64);
            a[0] = (byte)i;
            ArrayPool<byte>.Shared.Return(a);
        }
    }

    [Benchmark(OperationsPerInvoke = RingSteps)]
    public void Ring_NativeHeap()
    {
        for (int i = 0; i < RingSteps; i++)
        {
            int slot = _slots[i];
            _heap.Free((void*)_heapRing[slot], _heapSizes[slot], _heapSizes[slot] < 16 ? 8u : 16u);
            nuint size = _sizes[i];
            _heapRing[slot] = (nint)_heap.Allocate(size);
            _heapSizes[slot] = size;
        }
    }

    [Benchmark(OperationsPerInvoke = RingSteps)]
    public void Ring_NativeMemory()
    {
        for (int i = 0; i < RingSteps; i++)
        {
            int slot = _slots[i];
            NativeMemory.Free((void*)_nativeRing[slot]);
            _nativeRing[slot] = (nint)NativeMemory.Alloc(_sizes[i]);
        }
    }

    [Benchmark(OperationsPerInvoke = RingSteps)]
    public void Ring_ArrayPool()
    {
        for (int i = 0; i < RingSteps; i++)
        {
            int slot = _slots[i];
            if (_pooled[slot] is { } old) ArrayPool<byte>.Shared.Return(old);
            _pooled[slot] = ArrayPool<byte>.Shared.Rent((int)_sizes[i]);
        }
    }

    [Benchmark]
    public void Batch_NativeHeap()
    {
        for (int i = 0; i < Batch; i++) _batch[i] = (nint)_heap.Allocate(_sizes[i]);
        for (int i = 0; i < Batch; i++) _heap.Free((void*)_batch[Shuffled(i)]);
    }

    [Benchmark]
    public void Batch_NativeMemory()
    {
        for (int i = 0; i < Batch; i++) _batch[i] = (nint)NativeMemory.Alloc(_sizes[i]);
        for (int i = 0; i < Batch; i++) NativeMemory.Free((void*)_batch[Shuffled(i)]);
    }
}
