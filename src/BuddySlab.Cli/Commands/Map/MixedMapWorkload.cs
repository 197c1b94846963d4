namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// The default picture: mostly small objects (8 to 2048 bytes, log-uniform), some large blocks (4 to 64 KiB) and a few
/// page runs (1 to 32 pages); the freeing keeps one object in ten, one large block in four and one page run in three.
/// The survivors pin part-used slabs and split the free blocks: the fragmentation a long-running program leaves.
/// </summary>
internal sealed class MixedMapWorkload : MapWorkload
{
    public override string Name => "mixed";

    public override string Description =>
        "objects of 8 to 2048 bytes, large blocks of 4 to 64 KiB and page runs of 1 to 32 pages; keeps 1 object in 10, 1 large block in 4, 1 page run in 3";

    protected override BlockRequest Next(Random random, int pageSize)
    {
        double pick = random.NextDouble();
        if (pick < 0.985) return new BlockRequest(BlockKind.Object, LogUniform(random, 8, 2048));
        if (pick < 0.995) return new BlockRequest(BlockKind.LargeBlock, LogUniform(random, 4096, 65536));
        return new BlockRequest(BlockKind.PageRun, (nuint)random.Next(1, 33) * (nuint)pageSize);
    }

    protected override double KeepShare(BlockKind kind) => kind switch
    {
        BlockKind.Object => 0.1,
        BlockKind.LargeBlock => 0.25,
        _ => 1.0 / 3,
    };
}
