using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Reports;

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
