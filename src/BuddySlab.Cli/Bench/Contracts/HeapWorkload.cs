namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>A workload that watches one dedicated <see cref="NativeHeap"/> (<see cref="WorkloadKind.Heaps"/>): it creates
/// the heap with the options it needs (a purge interval), drives it, then watches what it gives back with no call
/// into it. Naturally one contender: the heap's behaviour over time is what is measured, not a race.</summary>
public abstract class HeapWorkload : Workload
{
    public sealed override WorkloadKind Kind => WorkloadKind.Heaps;

    public override bool WarmsUp => false;

    public abstract Measurement Run(Func<NativeHeapOptions, NativeHeap> createHeap, RunContext context);
}
