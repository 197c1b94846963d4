using System.CommandLine;
using System.Diagnostics;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;
using BuddySlab.Cli.Bench.Processes;
using BuddySlab.Cli.Bench.Reports;
using BuddySlab.Cli.Bench;
using Spectre.Console;

namespace BuddySlab.Cli.Commands.Bench;

/// <summary>
/// The <c>bench</c> command: its options, and the run from options to report. Loads the optional native allocators,
/// restarts once with the environment the suite needs (<see cref="SelfProcess"/>), runs every selected workload with the runner under a
/// progress display, measures memory in child processes for <c>--memory</c>, then prints the tables, the summary and
/// the JSON file, and writes the HTML page.
/// </summary>
public static class BenchCommand
{
    public static Command Create(string[] programArgs)
    {
        var threads = new Option<int>("--threads") { Description = "Threads for the threaded workloads (xmalloc uses threads/2 producer-consumer pairs).", DefaultValueFactory = _ => 2 };
        var quick = new Option<bool>("--quick") { Description = "About 10x fewer operations and 3 repetitions: a smoke run." };
        var reps = new Option<int?>("--reps") { Description = $"Repetitions per contender, odd (default {BenchOptions.DefaultReps}, {BenchOptions.DefaultQuickReps} with --quick)." };
        var workloads = new Option<string?>("--workloads") { Description = $"Comma-separated workloads to run (default all): {WorkloadRegistry.NameList}." };
        var allocators = new Option<string?>("--allocators") { Description = $"Comma-separated allocators to run (default all available): {ContenderRegistry.NameList}. The reference always runs." };
        var reference = new Option<string>("--reference") { Description = "Allocator the ratios are relative to.", DefaultValueFactory = _ => "NativeMemory" };
        var json = new Option<string?>("--json") { Description = "Write every result (each repetition, median, min, max, ratio, memory) to this JSON file." };
        var html = new Option<string?>("--html") { Description = "Write the run's tables and a chart of each workload's ratios (log scale) to this HTML file (self-contained, no script)." };
        var memory = new Option<bool>("--memory") { Description = "Also measure peak resident memory, each workload and allocator in a child process." };

        var command = new Command("bench", "Runs the allocator workload suite and compares allocators side by side (see docs/bench.md).");
        foreach (Option o in new Option[] { threads, quick, reps, workloads, allocators, reference, json, html, memory }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var options = BenchOptions.Create(parse.GetValue(threads), parse.GetValue(quick), parse.GetValue(reps), parse.GetValue(workloads),
                parse.GetValue(allocators), parse.GetValue(reference)!, parse.GetValue(json), parse.GetValue(memory), out string? error);
            if (error != null)
            {
                Console.Error.WriteLine(error);
                return 2;
            }
            return Execute(options with { HtmlPath = parse.GetValue(html) }, programArgs);
        });
        return command;
    }

    private static int Execute(BenchOptions options, string[] programArgs)
    {
        var libs = NativeLibraries.Load(options.WantsAllocator("mimalloc"), options.WantsAllocator("jemalloc"));
        if (!SelfProcess.IsRestarted && (libs.JemallocNeedsTunable || SelfProcess.TieringDelay == null))
        {
            // The runtime and glibc read these only at start: run again with them (see SelfProcess).
            if (libs.JemallocNeedsTunable)
                Console.Error.WriteLine($"jemalloc can only be loaded with GLIBC_TUNABLES={NativeLibraries.TlsTunable}; restarting with it.");
            return SelfProcess.Restart(programArgs, addTlsTunable: libs.JemallocNeedsTunable);
        }

        bool plain = Console.IsOutputRedirected || IsCi();
        // No wrapping in logs: lines are as long as they need.
        var console = plain ? PlainConsole.Create(Console.Out, width: 400) : AnsiConsole.Console;

        var registry = ContenderRegistry.Create(libs, options.WantsAllocator);
        var contenders = WorkloadRegistry.All.ToDictionary(w => w, w => BenchRunner.ContendersFor(w, registry.Available));
        var workloads = WorkloadRegistry.All.Where(w => options.WantsWorkload(w.Name) && contenders[w].Count > 0).ToList();
        var results = new BenchResults(options);
        results.Skipped.AddRange(registry.Skipped);
        var report = new Report(console, plain);
        report.Header(options, registry.Available, registry.Skipped, workloads.Count);

        var clock = Stopwatch.StartNew();
        if (plain)
        {
            RunAll(new PlainProgress(Console.Out, options.Reps));
            if (options.Memory) MeasureMemory(results, options, (w, c) => Console.WriteLine($"memory {w.Name} {c.Name}: {Describe(c.Memory!)}"));
        }
        else
        {
            console.Progress().AutoClear(true).HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    RunAll(new LiveProgress(ctx, workloads.Select(w => (w, options.Reps * contenders[w].Count)), options.Reps));
                    if (options.Memory)
                    {
                        var task = ctx.AddTask("memory (child processes)", maxValue: results.Workloads.Sum(r => r.Contenders.Count(c => c.HasRuns)));
                        MeasureMemory(results, options, (w, c) => { task.Description = Markup.Escape($"memory {w.Name} {c.Name}"); task.Increment(1); });
                    }
                });
        }
        results.Elapsed = clock.Elapsed;

        foreach (var r in results.Workloads) report.Workload(r, options.Threads);
        report.Memory(results);
        report.Summary(results);
        if (options.JsonPath != null)
        {
            JsonReport.Write(options.JsonPath, results);
            console.MarkupLine(Markup.Escape($"Wrote {options.JsonPath}"));
        }
        if (options.HtmlPath != null)
        {
            HtmlReport.Write(options.HtmlPath, results, registry.Available);
            console.MarkupLine(Markup.Escape($"Wrote {options.HtmlPath} ({new FileInfo(options.HtmlPath).Length:N0} bytes)"));
        }
        return results.Workloads.Any(w => w.Contenders.Any(c => c.Failed)) ? 1 : 0;

        void RunAll(IBenchProgress progress)
        {
            var runner = new BenchRunner(options, progress);
            foreach (var w in workloads) results.Workloads.Add(runner.Run(w, contenders[w]));
        }
    }

    private static void MeasureMemory(BenchResults results, BenchOptions options, Action<Workload, ContenderResult> measured)
    {
        foreach (var r in results.Workloads)
            foreach (var c in r.Contenders.Where(c => c.HasRuns))
            {
                c.Memory = MemoryChild.Measure(r.Workload, c.Name, options);
                measured(r.Workload, c);
            }
    }

    private static string Describe(MemoryResult m) =>
        m.Error ?? $"RSS {Format.Mebibytes(m.BaselineBytes)} before, peak {Format.Mebibytes(m.PeakBytes)}, live at peak {Format.Mebibytes(m.LiveBytes)}";

    private static bool IsCi() => Environment.GetEnvironmentVariable("CI") is { } ci && (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");
}
