namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// What one run measured besides its <see cref="Measurement"/>: the workload's own figures and curves, and the live
/// bytes it really touches. Kept apart from <see cref="Measurement"/> on purpose: the timed loops build and return that
/// struct, and a larger one (with references in it) compiled their code differently. Each run gets a fresh one through
/// <see cref="RunContext.Notes"/>.
/// </summary>
public sealed class RunNotes
{
    /// <summary>The live bytes the workload really writes, when that is less than <see cref="Measurement.PeakLiveBytes"/>
    /// (the <c>pages</c> workload stamps the first and last page of each run only); 0 when it writes all it holds.</summary>
    public long TouchedLiveBytes { get; set; }

    /// <summary>Numbers the workload measured besides the time.</summary>
    public List<Figure> Figures { get; } = [];

    /// <summary>Curves the workload sampled, written to the JSON report.</summary>
    public List<Series> Series { get; } = [];

    /// <summary>What <c>--memory</c> divides the peak resident size by: the live bytes the workload touches.</summary>
    public long MemoryLiveBytes(Measurement m) => TouchedLiveBytes > 0 ? TouchedLiveBytes : m.PeakLiveBytes;
}
