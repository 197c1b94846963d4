namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>A workload over buffer writers (<see cref="WorkloadKind.Writers"/>): it asks the contender for a new
/// <see cref="BenchWriter"/> for every document it writes.</summary>
public abstract class WriterWorkload : Workload
{
    public sealed override WorkloadKind Kind => WorkloadKind.Writers;

    public abstract Measurement Run(Func<BenchWriter> create, RunContext context);
}
