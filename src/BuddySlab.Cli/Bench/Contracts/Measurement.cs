using System.Diagnostics;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>One timed run's result: operations, elapsed Stopwatch ticks, and the peak of live requested bytes
/// (0 where the workload does not track it); the workload's own <see cref="Figures"/> and <see cref="Series"/>, if any.</summary>
public readonly record struct Measurement(long Operations, long ElapsedTicks, long PeakLiveBytes)
{
    public double NanosecondsPerOperation => ElapsedTicks * (1e9 / Stopwatch.Frequency) / Operations;
    public double Seconds => ElapsedTicks / (double)Stopwatch.Frequency;

    /// <summary>The live bytes the workload really writes, when that is less than <see cref="PeakLiveBytes"/> (the
    /// <c>pages</c> workload stamps the first and last page of each run only); 0 when it writes all it holds.</summary>
    public long TouchedLiveBytes { get; init; }

    /// <summary>What <c>--memory</c> divides the peak resident size by: the live bytes the workload touches.</summary>
    public long MemoryLiveBytes => TouchedLiveBytes > 0 ? TouchedLiveBytes : PeakLiveBytes;

    /// <summary>Numbers the workload measured besides the time (null: none).</summary>
    public IReadOnlyList<Figure>? Figures { get; init; }

    /// <summary>Curves the workload sampled (null: none), written to the JSON report.</summary>
    public IReadOnlyList<Series>? Series { get; init; }
}
