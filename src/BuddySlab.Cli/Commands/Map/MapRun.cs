namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// One run of the <c>map</c> command: a workload on a heap of its own, pictured at three moments: at the peak, after
/// the workload freed what it frees, and after <see cref="NativeHeap.Trim"/>. The heap is made for the picture: its
/// size is fixed (<see cref="HeapBytes"/>), it never purges on a clock (so nothing changes between the workload's calls
/// and the readings) and it sees one CPU (<see cref="OneCpuPlatform"/>), so a seed draws the same picture every time
/// up to where the system maps the region.
/// </summary>
internal sealed class MapRun
{
    /// <summary>The default heap: 64 MiB, 16,384 pages of 4 KiB, each one cell of the map.</summary>
    public const int DefaultHeapMebibytes = 64;

    public const int DefaultSeed = 17;

    private MapRun(MapWorkload workload, nuint heapBytes, int seed, int pageSize, IReadOnlyList<HeapPhase> phases)
    {
        Workload = workload;
        HeapBytes = heapBytes;
        Seed = seed;
        PageSize = pageSize;
        Phases = phases;
    }

    public MapWorkload Workload { get; }
    public nuint HeapBytes { get; }
    public int Seed { get; }
    public int PageSize { get; }

    /// <summary>The three moments, in order: <c>peak</c>, <c>freed</c>, <c>trimmed</c>.</summary>
    public IReadOnlyList<HeapPhase> Phases { get; }

    /// <summary>Runs <paramref name="workload"/> on a new heap of <paramref name="heapMebibytes"/> MiB and reads it at
    /// the three moments; the heap is gone when this returns.</summary>
    public static MapRun Execute(MapWorkload workload, int heapMebibytes = DefaultHeapMebibytes, int seed = DefaultSeed)
    {
        if (heapMebibytes < 1 || heapMebibytes > 4096)
            throw new ArgumentOutOfRangeException(nameof(heapMebibytes), heapMebibytes, "A map's heap is 1 to 4096 MiB.");
        nuint bytes = (nuint)heapMebibytes << 20;
        using var heap = new NativeHeap(new NativeHeapOptions
        {
            InitialBytes = bytes,
            MaxBytes = bytes,
            HugePages = false,
            PurgeInterval = TimeSpan.Zero,
            Platform = OneCpuPlatform.Instance,
            Name = $"map-{workload.Name}",
        });
        var random = new Random(seed);
        var phases = new List<HeapPhase>();
        MapBlocks blocks = workload.Fill(heap, random);
        phases.Add(Read(heap, blocks, "peak", "At the peak",
            $"{blocks.Count:N0} blocks taken, until {MapWorkload.FillShare:P0} of the pages were in use or a request found no room."));
        workload.Release(blocks, random);
        phases.Add(Read(heap, blocks, "freed", "After freeing",
            "The workload freed all but its survivors; the caches keep what they are allowed to."));
        heap.Trim();
        phases.Add(Read(heap, blocks, "trimmed", "After Trim()",
            "Trim() gave the caches' objects, empty slabs and cached runs back to the buddy, and free runs to the system."));
        return new MapRun(workload, bytes, seed, heap.Allocator.PageSize, phases);
    }

    private static HeapPhase Read(NativeHeap heap, MapBlocks blocks, string key, string title, string note)
    {
        HeapStatistics statistics = heap.GetStatistics();
        GlobalAllocator.PageMapSnapshot map = heap.Allocator.ReadPageMap();
        return new HeapPhase(key, title, note, statistics, map,
            blocks.Live(BlockKind.Object), blocks.Live(BlockKind.LargeBlock), blocks.Live(BlockKind.PageRun));
    }
}
