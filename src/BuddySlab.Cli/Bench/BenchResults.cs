namespace BuddySlab.Cli.Bench;

/// <summary>A whole run: every workload's results, the allocators that were skipped, and how long it took.</summary>
public sealed class BenchResults(BenchOptions options)
{
    public BenchOptions Options { get; } = options;
    public List<WorkloadResult> Workloads { get; } = [];
    public List<(string Name, string Why)> Skipped { get; } = [];
    public TimeSpan Elapsed { get; set; }
}
