using System.Diagnostics;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// How big a run is and where its timed section starts and ends. <see cref="Scale"/> multiplies each workload's
/// full-size operation counts (1 for a full run, 0.1 for <c>--quick</c>; a warm-up is a tenth of its run).
/// <see cref="BeginTimed"/> and <see cref="EndTimed"/> bracket the timed loop so that setup and cleanup are not
/// counted, and let a <see cref="MemoryProbe"/> (child processes of <c>--memory</c>) measure the same section.
/// </summary>
public sealed record RunContext(double Scale, int Threads)
{
    public bool IsWarmUp { get; init; }
    public MemoryProbe? Probe { get; init; }

    /// <summary>Where the run puts what it measured besides its <see cref="Measurement"/> (figures, curves); the runner
    /// gives each run a fresh one, and a warm-up's is dropped.</summary>
    public RunNotes Notes { get; init; } = new();

    /// <summary><paramref name="full"/> scaled to this run, at least <paramref name="min"/>.</summary>
    public long Count(long full, long min = 1) => Math.Max(min, (long)Math.Round(full * Scale));

    /// <summary>The scale of the timed run, also inside its warm-up (for one-time setup sized like the run).</summary>
    public double RunScale { get; init; } = Scale;

    /// <summary><paramref name="full"/> scaled to the timed run even in a warm-up, at least <paramref name="min"/>.</summary>
    public long CountAtRunScale(long full, long min = 1) => Math.Max(min, (long)Math.Round(full * RunScale));

    /// <summary>The warm-up before a timed run: a tenth of the size, no memory probe.</summary>
    public RunContext ForWarmUp() => this with { Scale = Scale * 0.1, RunScale = Scale, IsWarmUp = true, Probe = null, Notes = new RunNotes() };

    public long BeginTimed()
    {
        Probe?.Begin();
        return Stopwatch.GetTimestamp();
    }

    public Measurement EndTimed(long start, long operations, long peakLiveBytes = 0)
    {
        long end = Stopwatch.GetTimestamp();
        Probe?.End();
        return new Measurement(operations, end - start, peakLiveBytes);
    }
}
