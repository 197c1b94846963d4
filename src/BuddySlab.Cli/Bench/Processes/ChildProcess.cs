using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BuddySlab.Cli.Bench.Contenders;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Bench.Processes;

/// <summary>
/// Peak-memory measurement for <c>--memory</c>. The peak resident size of a process is one number for its whole
/// life and every allocator keeps some memory after a run, so each (workload, contender) runs alone in a fresh
/// child: this program again, with the hidden subcommand <c>bench-child</c>. The child runs the workload once with
/// a <see cref="MemoryProbe"/> around the timed section (resident size before it; peak during it, after resetting
/// the kernel's peak counter) and prints one result line, which the parent reads.
/// </summary>
public static class ChildProcess
{
    public const string CommandName = "bench-child";
    private const string ResultPrefix = "BENCH-CHILD-RESULT ";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>Parent side: runs one child and returns what it measured, or an error.</summary>
    public static MemoryResult Measure(Workload workload, string allocator, BenchOptions options)
    {
        var args = new List<string> { CommandName, "--workload", workload.Name, "--allocator", allocator, "--threads", options.Threads.ToString(CultureInfo.InvariantCulture) };
        if (options.Quick) args.Add("--quick");
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

    private static MemoryResult Failed(string why) => new(0, 0, 0, false, double.NaN, why);

    /// <summary>The hidden subcommand the children run.</summary>
    public static Command CreateCommand()
    {
        var workload = new Option<string>("--workload") { Description = "Workload to run.", Required = true };
        var allocator = new Option<string>("--allocator") { Description = "Allocator to run it with.", Required = true };
        var threads = new Option<int>("--threads") { Description = "Threads for threaded workloads.", DefaultValueFactory = _ => 2 };
        var quick = new Option<bool>("--quick") { Description = "Quick size." };
        var command = new Command(CommandName, "Internal: runs one workload with one allocator and prints its memory use (used by bench --memory).") { Hidden = true };
        command.Options.Add(workload);
        command.Options.Add(allocator);
        command.Options.Add(threads);
        command.Options.Add(quick);
        command.SetAction(parse => Run(parse.GetValue(workload)!, parse.GetValue(allocator)!, parse.GetValue(threads), parse.GetValue(quick)));
        return command;
    }

    /// <summary>Child side: one untimed-setup, probed run; prints the result line.</summary>
    private static int Run(string workloadName, string allocator, int threads, bool quick)
    {
        var workload = WorkloadRegistry.All.FirstOrDefault(w => BenchOptions.Same(w.Name, workloadName));
        if (workload == null) { Console.Error.WriteLine($"unknown workload {workloadName}"); return 2; }
        var libs = NativeLibraries.Load(BenchOptions.Same(allocator, "mimalloc"), BenchOptions.Same(allocator, "jemalloc"));
        var registry = ContenderRegistry.Create(libs, name => BenchOptions.Same(name, allocator));
        var contender = BenchRunner.ContendersFor(workload, registry.Available).FirstOrDefault();
        if (contender == null)
        {
            Console.Error.WriteLine(registry.Skipped.Select(s => $"{s.Name}: {s.Why}").FirstOrDefault() ?? $"{allocator} does not run {workload.Name}");
            return 3;
        }
        BuddyPages.Prefault = false;   // measure what the run touches, not the whole reserved region
        var probe = new MemoryProbe();
        var context = new RunContext(quick ? BenchOptions.QuickScale : 1.0, threads) { Probe = probe };
        Measurement m;
        try { m = contender.Run(workload, context, warmUp: false); }
        catch (Exception e) { Console.Error.WriteLine(BenchRunner.Describe(e)); return 4; }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("baselineRssBytes", probe.BaselineBytes);
            json.WriteNumber("peakRssBytes", probe.PeakBytes);
            json.WriteNumber("liveBytesAtPeak", m.PeakLiveBytes);
            json.WriteBoolean("peakWasReset", probe.PeakWasReset);
            json.WriteNumber("nsPerOp", m.NanosecondsPerOperation);
            json.WriteEndObject();
        }
        Console.WriteLine(ResultPrefix + System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        return 0;
    }
}
