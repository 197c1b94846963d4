using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Workloads;

namespace BuddySlab.Cli.Bench;

/// <summary>The workloads in the order they run and are reported; adding one is a class in <c>Workloads/</c> plus one line here.</summary>
public static class WorkloadRegistry
{
    /// <summary>The workload of this name (case-insensitive), or null.</summary>
    public static Workload? Find(string name) => All.FirstOrDefault(w => BenchOptions.Same(w.Name, name));

    /// <summary>The workload of this name or, when no workload has it, its family: every workload whose name starts
    /// with <paramref name="name"/> and a dash (<c>rent-return</c> selects <c>rent-return-4k</c> and its siblings).</summary>
    public static IEnumerable<Workload> Matching(string name) => Find(name) is { } w ? [w]
        : All.Where(w => w.Name.StartsWith(name + "-", StringComparison.OrdinalIgnoreCase));

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
        new RentReturnWorkload("4k", mixed: false, crossThread: false),
        new RentReturnWorkload("mixed", mixed: true, crossThread: false),
        new RentReturnWorkload("4k-threads", mixed: false, crossThread: true),
        new RentReturnWorkload("mixed-threads", mixed: true, crossThread: true),
        new PipeWorkload(),
        new JsonWriterWorkload(),
        new ThreadsExitWorkload(),
        new IdleWorkload(),
    ];
}
