using BuddySlab.Cli.Bench.Contracts;


namespace BuddySlab.Cli.Bench;

/// <summary>One contender's repetitions in one workload: ns per operation of every timed run (in the order they
/// ran), their median, min and max, its ratio to the reference, and what <c>--memory</c> measured.</summary>
public sealed class ContenderResult(Contender contender)
{
    public Contender Contender { get; } = contender;
    public string Name => Contender.Name;
    public List<double> NanosecondsPerOperation { get; } = [];
    public long Operations { get; private set; }
    public long PeakLiveBytes { get; private set; }
    public string? Error { get; set; }
    public bool Failed => Error != null;
    public bool HasRuns => NanosecondsPerOperation.Count > 0;
    /// <summary>Median over reference median; null without a usable reference.</summary>
    public double? Ratio { get; set; }
    public MemoryResult? Memory { get; set; }

    public void Add(Measurement m)
    {
        NanosecondsPerOperation.Add(m.NanosecondsPerOperation);
        Operations = m.Operations;
        PeakLiveBytes = m.PeakLiveBytes;
    }

    /// <summary>The middle run (repetition counts are odd; with an even count after a failure, the lower middle).</summary>
    public double Median
    {
        get
        {
            var sorted = NanosecondsPerOperation.Order().ToList();
            return sorted.Count == 0 ? double.NaN : sorted[(sorted.Count - 1) / 2];
        }
    }

    public double Min => HasRuns ? NanosecondsPerOperation.Min() : double.NaN;
    public double Max => HasRuns ? NanosecondsPerOperation.Max() : double.NaN;
}

/// <summary>What a child process measured for one (workload, contender): resident memory before the timed section,
/// its peak during it, the live requested bytes at the workload's peak, and that run's speed.</summary>
public sealed record MemoryResult(long BaselineBytes, long PeakBytes, long LiveBytes, bool PeakWasReset, double NanosecondsPerOperation, string? Error = null)
{
    public long GrowthBytes => PeakBytes - BaselineBytes;
}

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

/// <summary>A whole run: every workload's results, the allocators that were skipped, and how long it took.</summary>
public sealed class BenchResults(BenchOptions options)
{
    public BenchOptions Options { get; } = options;
    public List<WorkloadResult> Workloads { get; } = [];
    public List<(string Name, string Why)> Skipped { get; } = [];
    public TimeSpan Elapsed { get; set; }
}
