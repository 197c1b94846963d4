using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench;

/// <summary>
/// Runs the workloads against the contenders, in one process, comparing contenders only within the same run.
/// On a small, shared, noisy machine absolute times drift by 2x between runs, so for every workload the contenders
/// take turns, round-robin with a rotating start (rep 1: A B C, rep 2: B C A, rep 3: C A B …), so a slow stretch of
/// the machine hits each of them alike; each turn is a warm-up run then a timed run on one fresh contender instance,
/// preceded by a full garbage collection so one contender's garbage is not collected on another's clock. The
/// report uses the median of the timed runs, with min and max to show the spread. A contender that throws (out of
/// memory, corruption) is marked failed for that workload and the others go on.
/// </summary>
public sealed class BenchRunner(BenchOptions options, IBenchProgress progress)
{
    public static IReadOnlyList<Contender> ContendersFor(Workload workload, IReadOnlyList<Contender> all) =>
        all.Where(c => c.RunsIn(workload)).ToList();

    public WorkloadResult Run(Workload workload, IReadOnlyList<Contender> contenders)
    {
        var results = contenders.Select(c => new ContenderResult(c)).ToList();
        var context = new RunContext(options.Scale, options.Threads);
        int n = results.Count;
        int reps = RepsFor(workload, options);
        for (int rep = 0; rep < reps; rep++)
        {
            for (int k = 0; k < n; k++)
            {
                var result = results[(rep + k) % n];
                progress.Starting(workload, rep, result.Contender);
                if (!result.Failed)
                {
                    Settle();
                    var run = context with { Notes = new RunNotes() };
                    try { result.Add(result.Contender.Run(workload, run, warmUp: workload.WarmsUp), run.Notes); }
                    catch (Exception e) { result.Error = Describe(e); }
                }
                progress.Finished(workload, rep, result, lastInRep: k == n - 1);
            }
        }
        var wr = new WorkloadResult(workload, results, ReferenceFor(workload, results, options));
        wr.ComputeRatios();
        return wr;
    }

    /// <summary>The repetitions <paramref name="workload"/> runs: <c>--reps</c>, or the workload's cap when lower.</summary>
    public static int RepsFor(Workload workload, BenchOptions options) => Math.Min(options.Reps, workload.MaxReps ?? int.MaxValue);

    /// <summary>The run's reference when it takes part in the workload, else the workload's own (which may be null).</summary>
    private static string ReferenceFor(Workload workload, List<ContenderResult> results, BenchOptions options) =>
        results.Exists(r => BenchOptions.Same(r.Name, options.Reference)) ? options.Reference : workload.Reference ?? options.Reference;

    /// <summary>Collects garbage left by the previous run, outside every timed section.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    public static string Describe(Exception e) => e switch
    {
        CorruptionException => e.Message,
        OutOfMemoryException => $"out of memory: {e.Message}",
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
