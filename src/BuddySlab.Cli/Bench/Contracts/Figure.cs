namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>What a figure counts, which decides how the report prints it.</summary>
public enum FigureUnit
{
    /// <summary>Bytes, printed in MiB.</summary>
    Bytes,
    /// <summary>A count (collections, owners), printed whole.</summary>
    Count,
    /// <summary>MiB per second.</summary>
    MebibytesPerSecond,
    /// <summary>Milliseconds.</summary>
    Milliseconds,
    /// <summary>Purge intervals of the heap under test.</summary>
    PurgeIntervals,
}

/// <summary>One number a workload measures besides its time per operation (throughput, managed bytes allocated,
/// collections, what a heap still counts), reported per contender as the median over the repetitions. A figure that
/// could not be reached (a resident size that never came back within its bound) is <see cref="double.NaN"/>.</summary>
public readonly record struct Figure(string Name, double Value, FigureUnit Unit);

/// <summary>Samples over time (a resident-size curve), kept for the JSON report: one row per sample, one value per column.</summary>
public sealed record Series(string Name, IReadOnlyList<string> Columns, IReadOnlyList<double[]> Rows);
