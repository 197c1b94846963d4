namespace BuddySlab.Cli.Bench.Reports;

/// <summary>How numbers read in the tables and progress lines.</summary>
public static class Format
{
    public static string Nanoseconds(double ns) =>
        double.IsNaN(ns) ? "-" : ns < 10 ? ns.ToString("0.00") : ns < 1000 ? ns.ToString("0.0") : ns.ToString("N0");

    public static string Ratio(double? ratio) => ratio is { } r ? $"{r:0.00}x" : "-";

    public static string Mebibytes(long bytes) => $"{bytes / (1024.0 * 1024.0):N1} MiB";

    public static string Duration(TimeSpan t) => t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds:00}s" : $"{t.TotalSeconds:0.0}s";
}
