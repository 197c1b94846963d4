namespace BuddySlab.Cli.Bench;

/// <summary>What a child process measured for one (workload, contender): resident memory before the timed section,
/// its peak during it, the live requested bytes at the workload's peak, and that run's speed.</summary>
public sealed record MemoryResult(long BaselineBytes, long PeakBytes, long LiveBytes, bool PeakWasReset, double NanosecondsPerOperation, string? Error = null)
{
    public long GrowthBytes => PeakBytes - BaselineBytes;
}
