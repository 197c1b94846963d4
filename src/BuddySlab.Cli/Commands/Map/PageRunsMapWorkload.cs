namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// Whole pages only: page runs of 1 to 256 pages and large blocks of 4 KiB to 1 MiB (both log-uniform); the freeing
/// keeps half of each. The buddy's picture: exact runs whose tails went back as smaller blocks, and free space split
/// between the survivors.
/// </summary>
internal sealed class PageRunsMapWorkload : MapWorkload
{
    public override string Name => "pages";

    public override string Description => "page runs of 1 to 256 pages and large blocks of 4 KiB to 1 MiB; keeps half of each";

    protected override BlockRequest Next(Random random, int pageSize) => random.Next(2) == 0
        ? new BlockRequest(BlockKind.PageRun, LogUniform(random, 1, 256) * (nuint)pageSize)
        : new BlockRequest(BlockKind.LargeBlock, LogUniform(random, 4096, 1 << 20));

    protected override double KeepShare(BlockKind kind) => 0.5;
}
