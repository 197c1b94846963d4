namespace BuddySlab.Cli.Commands.Map;

/// <summary>What a block of a map workload is: an object of a size class, a large block (whole pages behind an
/// <c>Allocate</c>), or a run of the page API (<c>AllocatePages</c>).</summary>
internal enum BlockKind
{
    Object,
    LargeBlock,
    PageRun,
}

/// <summary>One request of a map workload: an object or large block of <c>Bytes</c> bytes, or a run of
/// <c>Bytes / PageSize</c> pages.</summary>
internal readonly record struct BlockRequest(BlockKind Kind, nuint Bytes);

/// <summary>
/// A scenario the <c>map</c> command pictures: requests drawn from <see cref="Next"/> until the heap holds
/// <see cref="FillShare"/> of its pages (the peak), then every block freed in random order except a share of each kind
/// that <see cref="KeepShare"/> says (the survivors that pin their slabs and split the free blocks). Every random
/// number comes from the one seeded generator the run passes in, so a seed gives the same requests every time.
/// </summary>
internal abstract class MapWorkload
{
    /// <summary>The share of the heap's pages in use at which the filling stops.</summary>
    public const double FillShare = 0.75;

    public abstract string Name { get; }
    public abstract string Description { get; }

    /// <summary>The next request to make.</summary>
    protected abstract BlockRequest Next(Random random, int pageSize);

    /// <summary>The share (0..1) of the blocks of <paramref name="kind"/> that the freeing keeps.</summary>
    protected abstract double KeepShare(BlockKind kind);

    /// <summary>Allocates until the heap's pages in use reach <see cref="FillShare"/> of its managed pages or a request
    /// finds no room; touches every block (so its pages are resident) and answers them all.</summary>
    public MapBlocks Fill(NativeHeap heap, Random random)
    {
        var blocks = new MapBlocks(heap);
        int pageSize = heap.Allocator.PageSize;
        nuint target = (nuint)(heap.ManagedBytes * FillShare);
        while (heap.AllocatedBytes < target)
            if (!blocks.TryAdd(Next(random, pageSize))) break;
        return blocks;
    }

    /// <summary>Frees, in random order, every block of <paramref name="blocks"/> but a share of each kind.</summary>
    public void Release(MapBlocks blocks, Random random)
    {
        int[] order = Enumerable.Range(0, blocks.Count).ToArray();
        random.Shuffle(order);
        foreach (int i in order)
            if (random.NextDouble() >= KeepShare(blocks[i].Kind)) blocks.Free(i);
    }

    /// <summary>A size from <paramref name="min"/> to <paramref name="max"/> bytes, uniform in its logarithm (as many
    /// requests of 16 to 32 bytes as of 1024 to 2048).</summary>
    protected static nuint LogUniform(Random random, double min, double max) =>
        (nuint)Math.Round(min * Math.Pow(max / min, random.NextDouble()));
}
