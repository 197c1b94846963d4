using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench;

/// <summary>One contender's repetitions in one workload: ns per operation of every timed run (in the order they
/// ran), their median, min and max, its ratio to the reference, and what <c>--memory</c> measured.</summary>
public sealed class ContenderResult(Contender contender)
{
    public Contender Contender { get; } = contender;
    public string Name => Contender.Name;
    public List<double> NanosecondsPerOperation { get; } = [];
    /// <summary>Every timed run's notes (figures, curves), in the order they ran.</summary>
    public List<RunNotes> Runs { get; } = [];
    public long Operations { get; private set; }
    public long PeakLiveBytes { get; private set; }
    public string? Error { get; set; }
    public bool Failed => Error != null;
    public bool HasRuns => NanosecondsPerOperation.Count > 0;
    /// <summary>Median over reference median; null without a usable reference.</summary>
    public double? Ratio { get; set; }
    public MemoryResult? Memory { get; set; }

    public void Add(Measurement m, RunNotes notes)
    {
        NanosecondsPerOperation.Add(m.NanosecondsPerOperation);
        Runs.Add(notes);
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

    /// <summary>The names and units of the figures the runs measured, in the order the workload gives them.</summary>
    public IEnumerable<(string Name, FigureUnit Unit)> FigureNames =>
        Runs.SelectMany(n => n.Figures).Select(f => (f.Name, f.Unit)).Distinct();

    /// <summary>Every run's value of one figure, in the order they ran (NaN where a run did not reach it).</summary>
    public IEnumerable<double> FigureValues(string name) =>
        Runs.Select(n => n.Figures.FirstOrDefault(f => f.Name == name) is { Name: not null } f ? f.Value : double.NaN);

    /// <summary>The median of one figure over the runs (a run that did not reach it, NaN, sorts above every number), or NaN.</summary>
    public double FigureMedian(string name)
    {
        var sorted = FigureValues(name).Select(v => double.IsNaN(v) ? double.PositiveInfinity : v).Order().ToList();
        if (sorted.Count == 0) return double.NaN;
        double median = sorted[(sorted.Count - 1) / 2];
        return double.IsPositiveInfinity(median) ? double.NaN : median;
    }

    public double Min => HasRuns ? NanosecondsPerOperation.Min() : double.NaN;
    public double Max => HasRuns ? NanosecondsPerOperation.Max() : double.NaN;
}
