using System.Buffers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace BuddySlab.Benchmarks;

/// <summary>
/// Allocating and freeing a 64-byte struct through <see cref="ObjectCache{T}"/> (one-page Small slabs over
/// NativeMemory), against NativeMemory.Alloc/Free, <c>new T[1]</c> and ArrayPool&lt;byte&gt;.Shared: a tight
/// allocate+free pair, and a batch of 1,000 allocations followed by 1,000 frees (reported per object).
/// Run: dotnet run -c Release --project bench/BuddySlab.Benchmarks -- --job short --filter '*ObjectCache*'
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class ObjectCacheBenchmarks
{
    private const int Batch = 1000;

    private ObjectCache<Payload64> _cache = null!;
    private readonly nint[] _pointers = new nint[Batch];
    private readonly Payload64[][] _arrays = new Payload64[Batch][];
    private readonly byte[][] _rented = new byte[Batch][];

    /// <summary>Creates the cache and lets it take the slabs a batch needs, as a long-running program would have.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _cache = new ObjectCache<Payload64>(4096, 4096, ObjectSizeType.Small, new NativeSlabBackend());
        BatchObjectCache();
    }

    /// <summary>Returns every slab.</summary>
    [GlobalCleanup]
    public void Cleanup() => _cache.Dispose();

    /// <summary>malloc/free through NativeMemory.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("Pair")]
    public void PairNativeMemory()
    {
        var p = (Payload64*)NativeMemory.Alloc((nuint)sizeof(Payload64));
        p->First = 1;
        NativeMemory.Free(p);
    }

    /// <summary>Allocate/Free through the object cache.</summary>
    [Benchmark, BenchmarkCategory("Pair")]
    public void PairObjectCache()
    {
        Payload64* p = _cache.Allocate();
        p->First = 1;
        _cache.Free(p);
    }

    /// <summary>A one-element managed array, left to the GC.</summary>
    [Benchmark, BenchmarkCategory("Pair")]
    public Payload64[] PairNewArray()
    {
        var a = new Payload64[1];
        a[0].First = 1;
        return a;
    }

    /// <summary>Rent/Return of 64 bytes from the shared array pool.</summary>
    [Benchmark, BenchmarkCategory("Pair")]
    public void PairArrayPool()
    {
        byte[] b = ArrayPool<byte>.Shared.Rent(64);
        b[0] = 1;
        ArrayPool<byte>.Shared.Return(b);
    }

    /// <summary>1,000 NativeMemory allocations, then 1,000 frees.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch), BenchmarkCategory("Batch")]
    public void BatchNativeMemory()
    {
        nint[] pointers = _pointers;
        for (int i = 0; i < pointers.Length; i++)
        {
            var p = (Payload64*)NativeMemory.Alloc((nuint)sizeof(Payload64));
            p->First = i;
            pointers[i] = (nint)p;
        }
        for (int i = 0; i < pointers.Length; i++)
            NativeMemory.Free((void*)pointers[i]);
    }

    /// <summary>1,000 cache allocations, then 1,000 frees.</summary>
    [Benchmark(OperationsPerInvoke = Batch), BenchmarkCategory("Batch")]
    public void BatchObjectCache()
    {
        nint[] pointers = _pointers;
        for (int i = 0; i < pointers.Length; i++)
        {
            Payload64* p = _cache.Allocate();
            p->First = i;
            pointers[i] = (nint)p;
        }
        for (int i = 0; i < pointers.Length; i++)
            _cache.Free((Payload64*)pointers[i]);
    }

    /// <summary>1,000 one-element arrays kept alive, then dropped.</summary>
    [Benchmark(OperationsPerInvoke = Batch), BenchmarkCategory("Batch")]
    public void BatchNewArray()
    {
        Payload64[][] arrays = _arrays;
        for (int i = 0; i < arrays.Length; i++)
        {
            var a = new Payload64[1];
            a[0].First = i;
            arrays[i] = a;
        }
        Array.Clear(arrays);
    }

    /// <summary>1,000 rentals, then 1,000 returns.</summary>
    [Benchmark(OperationsPerInvoke = Batch), BenchmarkCategory("Batch")]
    public void BatchArrayPool()
    {
        byte[][] rented = _rented;
        for (int i = 0; i < rented.Length; i++)
        {
            byte[] b = ArrayPool<byte>.Shared.Rent(64);
            b[0] = (byte)i;
            rented[i] = b;
        }
        for (int i = 0; i < rented.Length; i++)
        {
            ArrayPool<byte>.Shared.Return(rented[i]);
            rented[i] = null!;
        }
    }

    /// <summary>The 64-byte object being allocated.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    public struct Payload64
    {
        /// <summary>The field the benchmarks write, so each object is touched.</summary>
        public long First;
    }

    /// <summary>Slabs straight from NativeMemory.AlignedAlloc; a dictionary side table for the configurations that need one.</summary>
    private sealed class NativeSlabBackend : ISlabMemoryBackend
    {
        private readonly Dictionary<nuint, nint> _infos = new();

        public void* AllocateSlab(nuint slabSize, nuint pageSize) => NativeMemory.AlignedAlloc(slabSize, pageSize);

        public void FreeSlab(void* slab, nuint slabSize, nuint pageSize) => NativeMemory.AlignedFree(slab);

        public void* AllocateSlabInfo(nuint infoSize) => NativeMemory.AlignedAlloc(infoSize, 8);

        public void FreeSlabInfo(void* slabInfo, nuint infoSize) => NativeMemory.AlignedFree(slabInfo);

        public void SaveSlabInfo(nuint objectPageAddress, void* slabInfo) => _infos[objectPageAddress] = (nint)slabInfo;

        public void* GetSlabInfo(nuint objectPageAddress) => _infos.TryGetValue(objectPageAddress, out nint info) ? (void*)info : null;

        public void DeleteSlabInfo(nuint objectPageAddress) => _infos.Remove(objectPageAddress);
    }
}
