using System.Diagnostics;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>One timed run's result: operations, elapsed Stopwatch ticks, and the peak of live requested bytes
/// (0 where the workload does not track it).</summary>
public readonly record struct Measurement(long Operations, long ElapsedTicks, long PeakLiveBytes)
{
    public double NanosecondsPerOperation => ElapsedTicks * (1e9 / Stopwatch.Frequency) / Operations;
    public double Seconds => ElapsedTicks / (double)Stopwatch.Frequency;
}
