using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// The garbage collector's counters at one moment: bytes allocated by every thread of the process since it started
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, precise) and collections of each generation. Two readings around a
/// timed section give what the section cost the managed heap. A gen-2 collection counts in all three generations, a
/// gen-1 in gen 0 and 1, as <see cref="GC.CollectionCount"/> counts them.
/// </summary>
public readonly record struct ManagedCounters(long AllocatedBytes, int Gen0, int Gen1, int Gen2)
{
    public static ManagedCounters Read() =>
        new(GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    /// <summary>The figures of the section from <paramref name="before"/> to this reading.</summary>
    public Figure[] Since(ManagedCounters before) =>
    [
        new("managed allocated", AllocatedBytes - before.AllocatedBytes, FigureUnit.Bytes),
        new("gen0 GCs", Gen0 - before.Gen0, FigureUnit.Count),
        new("gen1 GCs", Gen1 - before.Gen1, FigureUnit.Count),
        new("gen2 GCs", Gen2 - before.Gen2, FigureUnit.Count),
    ];
}
