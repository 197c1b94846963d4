using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench;

/// <summary>All contenders of one workload, and the reference their ratios are to.</summary>
public sealed class WorkloadResult(Workload workload, List<ContenderResult> contenders, string reference)
{
    public Workload Workload { get; } = workload;
    public List<ContenderResult> Contenders { get; } = contenders;
    public string ReferenceName { get; } = reference;
    public ContenderResult? Reference => Contenders.FirstOrDefault(c => BenchOptions.Same(c.Name, ReferenceName) && c.HasRuns);
    public long Operations => Contenders.Where(c => c.HasRuns).Select(c => c.Operations).FirstOrDefault();

    public void ComputeRatios()
    {
        double reference = Reference?.Median ?? double.NaN;
        foreach (var c in Contenders)
            c.Ratio = c.HasRuns && double.IsFinite(reference) && reference > 0 ? c.Median / reference : null;
    }
}
