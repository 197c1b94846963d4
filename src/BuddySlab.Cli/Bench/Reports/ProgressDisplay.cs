using BuddySlab.Cli.Bench.Contracts;
using Spectre.Console;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>What the runner reports while it works.</summary>
public interface IBenchProgress
{
    /// <summary><paramref name="contender"/> is about to run repetition <paramref name="rep"/> (0-based) of <paramref name="workload"/>.</summary>
    void Starting(Workload workload, int rep, Contender contender);

    /// <summary>It finished; <paramref name="result"/> holds its runs so far or its error. <paramref name="lastInRep"/>
    /// is true for the last contender of the repetition.</summary>
    void Finished(Workload workload, int rep, ContenderResult result, bool lastInRep);
}

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

/// <summary>Plain lines for logs, pipes and CI: one line per repetition of a workload, with each contender's ns/op.</summary>
public sealed class PlainProgress(TextWriter output, int reps) : IBenchProgress
{
    private readonly List<string> _line = [];

    public void Starting(Workload workload, int rep, Contender contender) { }

    public void Finished(Workload workload, int rep, ContenderResult result, bool lastInRep)
    {
        _line.Add(result.Failed ? $"{result.Name} failed" : $"{result.Name} {Format.Nanoseconds(result.NanosecondsPerOperation[^1])}");
        if (!lastInRep) return;
        output.WriteLine($"{workload.Name} rep {rep + 1}/{reps} (ns/{workload.Unit}): {string.Join(", ", _line)}");
        output.Flush();
        _line.Clear();
    }
}
