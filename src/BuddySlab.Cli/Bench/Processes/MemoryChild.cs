using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Bench.Processes;

/// <summary>
/// Peak-memory measurement for <c>--memory</c>, both sides of its protocol. The peak resident size of a process is
/// one number for its whole life and every allocator keeps some memory after a run, so each (workload, contender)
/// runs alone in a fresh child: this program again, with the hidden subcommand <see cref="CommandName"/> and the
/// options named here. The child runs the workload once with a <see cref="MemoryProbe"/> around the timed section
/// (resident size before it; peak during it, after resetting the kernel's peak counter) and prints one result line
/// (<see cref="WriteResult"/>), which the parent reads (<see cref="Measure"/>).
/// </summary>
public static class MemoryChild
{
    public const string CommandName = "bench-child";
    public const string WorkloadOption = "--workload", AllocatorOption = "--allocator", ThreadsOption = "--threads", QuickOption = "--quick";
    private const string ResultPrefix = "BENCH-CHILD-RESULT ";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>Parent side: runs one child and returns what it measured, or an error.</summary>
    public static MemoryResult Measure(Workload workload, string allocator, BenchOptions options)
    {
        var args = new List<string> { CommandName, WorkloadOption, workload.Name, AllocatorOption, allocator, ThreadsOption, options.Threads.ToString(CultureInfo.InvariantCulture) };
        if (options.Quick) args.Add(QuickOption);
        var psi = SelfProcess.StartInfo(args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.Environment["CI"] = "true";
        SelfProcess.AddTlsTunable(psi);
        SelfProcess.AddTieringDelay(psi);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            return Failed($"timed out after {Timeout.TotalMinutes} minutes");
        }
        string line = stdout.Result.Split('\n').FirstOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal)) ?? "";
        if (p.ExitCode != 0 || line.Length == 0)
        {
            string why = stderr.Result.Trim().Split('\n').FirstOrDefault(l => l.Length > 0) ?? $"exit code {p.ExitCode}";
            return Failed(why);
        }
        using var json = JsonDocument.Parse(line[ResultPrefix.Length..]);
        var r = json.RootElement;
        return new MemoryResult(r.GetProperty("baselineRssBytes").GetInt64(), r.GetProperty("peakRssBytes").GetInt64(),
            r.GetProperty("liveBytesAtPeak").GetInt64(), r.GetProperty("peakWasReset").GetBoolean(), r.GetProperty("nsPerOp").GetDouble());
    }

    /// <summary>Child side: prints the one result line <see cref="Measure"/> reads, from the probe and the run's measurement.</summary>
    public static void WriteResult(MemoryProbe probe, Measurement m, RunNotes notes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("baselineRssBytes", probe.BaselineBytes);
            json.WriteNumber("peakRssBytes", probe.PeakBytes);
            json.WriteNumber("liveBytesAtPeak", notes.MemoryLiveBytes(m));
            json.WriteBoolean("peakWasReset", probe.PeakWasReset);
            json.WriteNumber("nsPerOp", m.NanosecondsPerOperation);
            json.WriteEndObject();
        }
        Console.WriteLine(ResultPrefix + Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static MemoryResult Failed(string why) => new(0, 0, 0, false, double.NaN, why);
}
