using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>How numbers read in the tables and progress lines.</summary>
public static class Format
{
    public static string Nanoseconds(double ns) =>
        double.IsNaN(ns) ? "-" : ns < 10 ? ns.ToString("0.00") : ns < 1000 ? ns.ToString("0.0") : ns.ToString("N0");

    public static string Ratio(double? ratio) => ratio is { } r ? $"{r:0.00}x" : "-";

    public static string Mebibytes(long bytes) => $"{bytes / (1024.0 * 1024.0):N1} MiB";

    /// <summary>A figure's value in its unit; NaN (a bound never reached) reads "never".</summary>
    public static string Figure(double value, FigureUnit unit) => double.IsNaN(value) ? "never" : unit switch
    {
        FigureUnit.Bytes => Size(value),
        FigureUnit.Count => $"{value:N0}",
        FigureUnit.MebibytesPerSecond => $"{value:N0}",
        FigureUnit.Milliseconds => $"{value:N1}",
        FigureUnit.PurgeIntervals => $"{value:0.00}",
        _ => $"{value}",
    };

    /// <summary>A byte count in the largest binary unit that keeps it at 1 or more.</summary>
    public static string Size(double bytes) => Math.Abs(bytes) switch
    {
        >= 1 << 30 => $"{bytes / (1 << 30):N2} GiB",
        >= 1 << 20 => $"{bytes / (1 << 20):N1} MiB",
        >= 1 << 10 => $"{bytes / (1 << 10):N1} KiB",
        _ => $"{bytes:N0} B",
    };

    /// <summary>The unit as a figure's column header names it.</summary>
    public static string UnitLabel(FigureUnit unit) => unit switch
    {
        FigureUnit.Bytes => "bytes",
        FigureUnit.Count => "count",
        FigureUnit.MebibytesPerSecond => "MiB/s",
        FigureUnit.Milliseconds => "ms",
        FigureUnit.PurgeIntervals => "purge intervals",
        _ => unit.ToString(),
    };

    public static string Duration(TimeSpan t) => t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds:00}s" : $"{t.TotalSeconds:0.0}s";
}
