namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>A workload over struct contenders implementing <see cref="IBenchAllocator{THandle}"/>: small-object
/// allocators (<see cref="WorkloadKind.Objects"/>), or pools renting buffers (<see cref="WorkloadKind.Rentals"/>, when
/// a workload overrides <see cref="Kind"/>).</summary>
public abstract class ObjectWorkload : Workload
{
    public override WorkloadKind Kind => WorkloadKind.Objects;

    /// <summary>Runs once with <paramref name="allocator"/>; the JIT compiles this per contender struct, so the
    /// allocator's calls inline into the loop. Implementations mark their loops AggressiveOptimization: each is
    /// called only a handful of times, too few for tiered compilation to reach optimised code.</summary>
    public abstract Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct;
}
