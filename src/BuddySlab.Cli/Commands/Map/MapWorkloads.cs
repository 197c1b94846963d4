namespace BuddySlab.Cli.Commands.Map;

/// <summary>The scenarios <c>map --workload</c> knows, the default first.</summary>
internal static class MapWorkloads
{
    public static IReadOnlyList<MapWorkload> All { get; } = [new MixedMapWorkload(), new SmallObjectsMapWorkload(), new PageRunsMapWorkload()];

    public static MapWorkload Default => All[0];

    public static string NameList => string.Join(", ", All.Select(w => w.Name));

    /// <summary>The workload named <paramref name="name"/> (any case), or null.</summary>
    public static MapWorkload? Find(string name) => All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));
}
