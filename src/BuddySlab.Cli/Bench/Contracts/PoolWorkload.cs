namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>A workload over <see cref="System.Buffers.MemoryPool{T}"/>s (<see cref="WorkloadKind.Pools"/>): it hands the
/// pool to a consumer that rents on its own (a <c>Pipe</c>), so the calls go through the pool's virtual methods as in
/// any program, and there is no struct to specialise for.</summary>
public abstract class PoolWorkload : Workload
{
    public sealed override WorkloadKind Kind => WorkloadKind.Pools;

    /// <summary>Runs once over <paramref name="subject"/>'s pool (the warm-up and the timed run share the subject).</summary>
    public abstract Measurement Run(PoolSubject subject, RunContext context);
}
