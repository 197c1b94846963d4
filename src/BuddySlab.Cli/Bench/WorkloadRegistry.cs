using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Workloads;

namespace BuddySlab.Cli.Bench;

/// <summary>The workloads in the order they run and are reported; adding one is a class in <c>Workloads/</c> plus one line here.</summary>
public static class WorkloadRegistry
{
    /// <summary>The workload of this name (case-insensitive), or null.</summary>
    public static Workload? Find(string name) => All.FirstOrDefault(w => BenchOptions.Same(w.Name, name));

    /// <summary>The names as the help text and the error messages list them.</summary>
    public static string NameList => string.Join(", ", All.Select(w => w.Name));

    public static IReadOnlyList<Workload> All { get; } =
    [
        new PagesWorkload(),
        new Churn64Workload(),
        new RingMixedWorkload(),
        new HeapChurnWorkload(),
        new BatchMixedWorkload("10k", 10_000, fullRounds: 200),
        new BatchMixedWorkload("100k", 100_000, fullRounds: 10),
        new BatchMixedWorkload("1m", 1_000_000, fullRounds: 1),
        new XmallocWorkload(),
        new LarsonWorkload(),
        new CacheScratchWorkload(),
        new CacheThrashWorkload(),
        new GlibcSimpleWorkload(),
        new ObjectCacheWorkload(),
    ];
}
