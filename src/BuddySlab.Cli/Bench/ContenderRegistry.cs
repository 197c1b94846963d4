using BuddySlab.Cli.Bench.Contenders;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;
using BuddySlab.Cli.Bench.Workloads;

namespace BuddySlab.Cli.Bench;

/// <summary>
/// The list of contenders: one line each. Optional native libraries that are missing become <see cref="Skipped"/>
/// notes instead. Adding an allocator is one struct in this folder plus one line here; an allocator that makes
/// sense in one workload only (single-threaded, or one object size) passes that workload's name as <c>onlyFor</c>.
/// </summary>
public sealed unsafe class ContenderRegistry
{
    /// <summary>Every allocator name the suite knows, available or not, in display order.</summary>
    public static readonly string[] KnownNames = ["NativeMemory", "BuddySlab", "ThreadHeap", "BuddyAllocator", "BuddyHeap", "ObjectCache", "ArrayPool", "NewArray", "mimalloc", "jemalloc", "Floor"];

    public List<Contender> Available { get; } = [];
    public List<(string Name, string Why)> Skipped { get; } = [];

    public static ContenderRegistry Create(NativeLibraries libs, Func<string, bool> wanted)
    {
        var r = new ContenderRegistry();
        r.Add(wanted, Contender.Objects<NativeMemoryAllocator, nint>("NativeMemory", "NativeMemory.Alloc / Free (glibc malloc)", () => default));
        r.Add(wanted, Contender.Pages<NativeMemoryPages>("NativeMemory", "NativeMemory.AlignedAlloc(size, 4096) / AlignedFree", () => default));
        r.Add(wanted, Contender.Objects<NativeHeapAllocator, nint>("BuddySlab", "NativeHeap Allocate / sized Free", () => new NativeHeapAllocator()));
        r.Add(wanted, Contender.Objects<ThreadHeapAllocator, nint>("ThreadHeap", "the same NativeHeap through NativeHeap.ForCurrentThread() / sized Free (single-threaded workloads)",
            () => new ThreadHeapAllocator(), singleThreaded: true));
        r.Add(wanted, Contender.Pages<NativeHeapPages>("BuddySlab", "NativeHeap AllocatePages / FreePages (per-CPU page caches)", () => new NativeHeapPages()));
        r.Add(wanted, Contender.Pages<BuddyPages>("BuddyAllocator", "the raw BuddyAllocator over one AlignedAlloc'd region", () => new BuddyPages()));
        r.Add(wanted, Contender.Objects<BuddyHeapAllocator, nint>("BuddyHeap", "BuddyHeap Allocate / Deallocate (alignment 8), 64 MiB, 16-byte min block",
            () => new BuddyHeapAllocator(), onlyFor: HeapChurnWorkload.Id));
        r.Add(wanted, Contender.Objects<ObjectCacheAllocator, nint>("ObjectCache", "new ObjectCache<Block64>() (pages of NativeHeap.Shared) Allocate / Free",
            () => new ObjectCacheAllocator(new ObjectCache<Block64>()), onlyFor: ObjectCacheWorkload.Id));
        r.Add(wanted, Contender.Objects<ArrayPoolAllocator, PooledArray>("ArrayPool", "ArrayPool<byte>.Shared Rent / Return", () => default));
        r.Add(wanted, Contender.Objects<NewArrayAllocator, ManagedBlock>("NewArray", "new Block64[1], left to the GC (includes collection cost)",
            () => default, onlyFor: ObjectCacheWorkload.Id));

        if (libs.Mimalloc is { } mi)
        {
            r.Add(wanted, Contender.Objects<CMallocAllocator, nint>("mimalloc", "mi_malloc / mi_free", () => new CMallocAllocator(mi.Malloc, mi.Free, "mi_malloc")));
            r.Add(wanted, Contender.Pages<MimallocPages>("mimalloc", "mi_malloc_aligned(size, 4096) / mi_free", () => new MimallocPages(mi)));
        }
        else if (wanted("mimalloc")) r.Skipped.Add(("mimalloc", libs.MimallocNote ?? "not loaded"));

        if (libs.Jemalloc is { } je)
        {
            r.Add(wanted, Contender.Objects<CMallocAllocator, nint>("jemalloc", "malloc / free", () => new CMallocAllocator(je.Malloc, je.Free, "jemalloc malloc")));
            r.Add(wanted, Contender.Pages<JemallocPages>("jemalloc", "aligned_alloc(4096, size) / free", () => new JemallocPages(je)));
        }
        else if (wanted("jemalloc")) r.Skipped.Add(("jemalloc", libs.JemallocNote ?? "not loaded"));

        r.Add(wanted, Contender.Objects<FloorAllocator, nint>("Floor", "a bump pointer whose free does nothing: what the batch workloads cost by themselves",
            () => new FloorAllocator(), onlyFor: "batch-mixed-*"));
        r.Add(wanted, Contender.Pages<FloorPages>("Floor", "a stack of free runs per length over a bump pointer, no checks: what the pages workload costs by itself",
            () => new FloorPages()));
        return r;
    }

    private void Add(Func<string, bool> wanted, Contender c)
    {
        if (wanted(c.Name)) Available.Add(c);
    }
}
