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
