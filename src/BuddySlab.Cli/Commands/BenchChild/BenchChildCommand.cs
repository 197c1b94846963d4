using System.CommandLine;
using BuddySlab.Cli.Bench.Contenders;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;
using BuddySlab.Cli.Bench.Processes;
using BuddySlab.Cli.Bench;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Commands.BenchChild;

/// <summary>
/// The hidden <c>bench-child</c> command: the child side of <c>bench --memory</c> (see <see cref="MemoryChild"/>).
/// Runs one workload once with one allocator, untimed setup and a probed timed section, and prints the result line.
/// Exit codes: 2 for an unknown workload, 3 when the allocator does not run it (or is not available), 4 when the run
/// failed.
/// </summary>
public static class BenchChildCommand
{
    public static Command Create()
    {
        var workload = new Option<string>(MemoryChild.WorkloadOption) { Description = "Workload to run.", Required = true };
        var allocator = new Option<string>(MemoryChild.AllocatorOption) { Description = "Allocator to run it with.", Required = true };
        var threads = new Option<int>(MemoryChild.ThreadsOption) { Description = "Threads for threaded workloads.", DefaultValueFactory = _ => 2 };
        var quick = new Option<bool>(MemoryChild.QuickOption) { Description = "Quick size." };
        var command = new Command(MemoryChild.CommandName, "Internal: runs one workload with one allocator and prints its memory use (used by bench --memory).") { Hidden = true };
        command.Options.Add(workload);
        command.Options.Add(allocator);
        command.Options.Add(threads);
        command.Options.Add(quick);
        command.SetAction(parse => Run(parse.GetValue(workload)!, parse.GetValue(allocator)!, parse.GetValue(threads), parse.GetValue(quick)));
        return command;
    }

    /// <summary>One untimed-setup, probed run; prints the result line.</summary>
    private static int Run(string workloadName, string allocator, int threads, bool quick)
    {
        var workload = WorkloadRegistry.Find(workloadName);
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
        MemoryChild.WriteResult(probe, m, context.Notes);
        return 0;
    }
}
