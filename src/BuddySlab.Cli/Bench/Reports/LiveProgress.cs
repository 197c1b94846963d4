using BuddySlab.Cli.Bench.Contracts;
using Spectre.Console;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>A Spectre.Console progress display for a terminal: one task per workload, advancing per contender run.</summary>
public sealed class LiveProgress(ProgressContext context, IEnumerable<(Workload Workload, int Steps)> workloads, int reps) : IBenchProgress
{
    private readonly Dictionary<Workload, ProgressTask> _tasks = workloads.ToDictionary(
        w => w.Workload, w => context.AddTask(Markup.Escape(w.Workload.Name), autoStart: false, maxValue: Math.Max(1, w.Steps)));

    public void Starting(Workload workload, int rep, Contender contender)
    {
        var task = _tasks[workload];
        if (!task.IsStarted) task.StartTask();
        task.Description = Markup.Escape($"{workload.Name,-16} rep {rep + 1}/{reps} {contender.Name}");
    }

    public void Finished(Workload workload, int rep, ContenderResult result, bool lastInRep)
    {
        var task = _tasks[workload];
        task.Increment(1);
        if (task.Value >= task.MaxValue)
        {
            task.Description = Markup.Escape(workload.Name);
            task.StopTask();
        }
    }
}
