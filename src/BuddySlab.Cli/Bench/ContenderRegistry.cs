using System.Buffers;
using BuddySlab.Cli.Bench.Contenders;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;
using BuddySlab.Cli.Bench.Workloads;

namespace BuddySlab.Cli.Bench;

/// <summary>
/// The list of contenders: one line each, in display order (<see cref="Entries"/>). Adding an allocator is one struct
/// in <c>Contenders/</c> plus one line there; its name joins <see cref="KnownNames"/> by itself. An allocator that
/// makes sense in one workload only (single-threaded, or one object size) passes that workload's name as
/// <c>onlyFor</c>; one from an optional native library passes what its loading said as <c>unavailable</c>, and
/// becomes a <see cref="Skipped"/> note when the library did not load.
/// </summary>
public sealed class ContenderRegistry
{
    /// <summary>Every allocator name the suite knows, available or not, in display order.</summary>
    public static readonly string[] KnownNames = Entries(NativeLibraries.None).Select(c => c.Name).Distinct().ToArray();

    /// <summary>The known names as the help text and the error messages list them.</summary>
    public static string NameList => string.Join(", ", KnownNames);

    public List<Contender> Available { get; } = [];
    public List<(string Name, string Why)> Skipped { get; } = [];

    /// <summary>The wanted contenders that can run with <paramref name="libs"/>, and a note for each wanted name that cannot.</summary>
    public static ContenderRegistry Create(NativeLibraries libs, Func<string, bool> wanted)
    {
        var r = new ContenderRegistry();
        foreach (var c in Entries(libs).Where(c => wanted(c.Name)))
        {
            if (c.Unavailable == null) r.Available.Add(c);
            else if (!r.Skipped.Exists(s => s.Name == c.Name)) r.Skipped.Add((c.Name, c.Unavailable));
        }
        return r;
    }

    /// <summary>Every contender; those of a native library read its exports only when they create an instance.</summary>
    private static unsafe Contender[] Entries(NativeLibraries libs) =>
    [
        Contender.Objects<NativeMemoryAllocator, nint>("NativeMemory", "NativeMemory.Alloc / Free (glibc malloc)", () => default),
        Contender.Pages<NativeMemoryPages>("NativeMemory", "NativeMemory.AlignedAlloc(size, 4096) / AlignedFree", () => default),
        Contender.Objects<NativeHeapAllocator, nint>("BuddySlab", "NativeHeap Allocate / sized Free", () => new NativeHeapAllocator()),
        Contender.Objects<NativeHeapUnsizedAllocator, nint>("BuddySlab (Free(p))", "the same NativeHeap, Allocate / unsized Free(p) (the drop-in form)",
            () => new NativeHeapUnsizedAllocator()),
        Contender.Objects<ThreadHeapAllocator, nint>("ThreadHeap", "the same NativeHeap through NativeHeap.ForCurrentThread() / sized Free (single-threaded workloads)",
            () => new ThreadHeapAllocator(), singleThreaded: true),
        Contender.Pages<NativeHeapPages>("BuddySlab", "NativeHeap AllocatePages / FreePages (per-CPU page caches)", () => new NativeHeapPages()),
        Contender.Pages<BuddyPages>("BuddyAllocator", "the raw BuddyAllocator over one AlignedAlloc'd region", () => new BuddyPages()),
        Contender.Objects<BuddyHeapAllocator, nint>("BuddyHeap", "BuddyHeap Allocate / Deallocate (alignment 8), 64 MiB, 16-byte min block",
            () => new BuddyHeapAllocator(), onlyFor: HeapChurnWorkload.Id),
        Contender.Objects<ObjectCacheAllocator, nint>("ObjectCache", "new ObjectCache<Block64>() (pages of NativeHeap.Shared) Allocate / Free",
            () => new ObjectCacheAllocator(new ObjectCache<Block64>()), onlyFor: ObjectCacheWorkload.Id),
        Contender.Objects<ArrayPoolAllocator, PooledArray>("ArrayPool", "ArrayPool<byte>.Shared Rent / Return", () => default),
        Contender.Objects<NewArrayAllocator, ManagedBlock>("NewArray", "new Block64[1], left to the GC (includes collection cost)",
            () => default, onlyFor: ObjectCacheWorkload.Id),
        Contender.Objects<CMallocAllocator, nint>("mimalloc", "mi_malloc / mi_free",
            () => new CMallocAllocator(libs.Mimalloc!.Malloc, libs.Mimalloc.Free, "mi_malloc"), unavailable: libs.MimallocUnavailable),
        Contender.Pages<MimallocPages>("mimalloc", "mi_malloc_aligned(size, 4096) / mi_free", () => new MimallocPages(libs.Mimalloc!), libs.MimallocUnavailable),
        Contender.Objects<CMallocAllocator, nint>("jemalloc", "malloc / free",
            () => new CMallocAllocator(libs.Jemalloc!.Malloc, libs.Jemalloc.Free, "jemalloc malloc"), unavailable: libs.JemallocUnavailable),
        Contender.Pages<JemallocPages>("jemalloc", "aligned_alloc(4096, size) / free", () => new JemallocPages(libs.Jemalloc!), libs.JemallocUnavailable),
        Contender.Objects<FloorAllocator, nint>("Floor", "a bump pointer whose free does nothing: what the batch workloads cost by themselves",
            () => new FloorAllocator(), onlyFor: "batch-mixed-*"),
        Contender.Pages<FloorPages>("Floor", "a stack of free runs per length over a bump pointer, no checks: what the pages workload costs by itself",
            () => new FloorPages()),
        // Pools renting buffers (rent-return), pools handed to a Pipe (pipe), buffer writers (json-writer), a dedicated heap over time.
        Contender.Rentals<PoolRentals, RentedOwner>("BuddySlab", "new NativeMemoryPool() (over NativeHeap.Shared) Rent / owner Dispose",
            () => new PoolRentals(new NativeMemoryPool())),
        Contender.Rentals<PoolRentals, RentedOwner>("MemoryPool", "MemoryPool<byte>.Shared Rent / owner Dispose", () => new PoolRentals(MemoryPool<byte>.Shared)),
        Contender.Rentals<ArrayPoolAllocator, PooledArray>("ArrayPool", "ArrayPool<byte>.Shared Rent / Return", () => default),
        Contender.Pools("BuddySlab", "NativeMemoryPool over a new NativeHeap() per repetition", DedicatedHeapPool.Create),
        Contender.Pools("MemoryPool", "MemoryPool<byte>.Shared", SharedMemoryPool.Create),
        Contender.Writers("BuddySlab", "new NativeBufferWriter() (over NativeHeap.Shared), disposed after each document", () => new NativeWriter()),
        Contender.Writers("ArrayBufferWriter", "new ArrayBufferWriter<byte>() per document", () => new ArrayWriter()),
        Contender.Writers("RecyclableMemoryStream", "RecyclableMemoryStreamManager.GetStream() per document (one manager per process), as an IBufferWriter<byte>",
            () => new RecyclableStreamWriter()),
        Contender.Heaps("BuddySlab", "a new NativeHeap(options) per run, watched with no call into it", options => new NativeHeap(options)),
    ];
}
