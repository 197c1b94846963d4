namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// Small objects only (16 to 1024 bytes, log-uniform); the freeing keeps one in twenty. Most slabs end up nearly empty
/// but not empty, so they stay after <c>Trim()</c>: the price of scattered survivors in a slab allocator.
/// </summary>
internal sealed class SmallObjectsMapWorkload : MapWorkload
{
    public override string Name => "small";

    public override string Description => "objects of 16 to 1024 bytes only; keeps 1 in 20";

    protected override BlockRequest Next(Random random, int pageSize) => new(BlockKind.Object, LogUniform(random, 16, 1024));

    protected override double KeepShare(BlockKind kind) => 0.05;
}
