using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench;

/// <summary>What the runner reports while it works.</summary>
public interface IBenchProgress
{
    /// <summary><paramref name="contender"/> is about to run repetition <paramref name="rep"/> (0-based) of <paramref name="workload"/>.</summary>
    void Starting(Workload workload, int rep, Contender contender);

    /// <summary>It finished; <paramref name="result"/> holds its runs so far or its error. <paramref name="lastInRep"/>
    /// is true for the last contender of the repetition.</summary>
    void Finished(Workload workload, int rep, ContenderResult result, bool lastInRep);
}
