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
        for (int rep = 0; rep < options.Reps; rep++)
        {
            for (int k = 0; k < n; k++)
            {
                var result = results[(rep + k) % n];
                progress.Starting(workload, rep, result.Contender);
                if (!result.Failed)
                {
                    Settle();
                    try { result.Add(result.Contender.Run(workload, context, warmUp: true)); }
                    catch (Exception e) { result.Error = Describe(e); }
                }
                progress.Finished(workload, rep, result, lastInRep: k == n - 1);
            }
        }
        var wr = new WorkloadResult(workload, results, options.Reference);
        wr.ComputeRatios();
        return wr;
    }

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
