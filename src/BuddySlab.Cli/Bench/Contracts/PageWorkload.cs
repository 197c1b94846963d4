namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>A workload over page allocators (<see cref="IPageAllocator"/>).</summary>
public abstract class PageWorkload : Workload
{
    public sealed override WorkloadKind Kind => WorkloadKind.Pages;

    public abstract Measurement Run<TPages>(TPages pages, RunContext context) where TPages : struct, IPageAllocator;
}
