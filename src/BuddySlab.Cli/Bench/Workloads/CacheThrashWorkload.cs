using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary><c>cache-thrash</c> (active false sharing): every thread allocates, writes and frees its own small
/// objects; an allocator that packs different threads' objects into one cache line makes them thrash.
/// 200,000 objects per thread in a full run; counts ns per write pass (wall time over all threads' passes).</summary>
public sealed class CacheThrashWorkload : CacheFalseSharingWorkload
{
    public override string Name => "cache-thrash";
    public override string Description => $"each thread: allocate 8 B, write it {Passes}x, free; repeat (active false sharing)";

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        int threads = context.Threads;
        int iterations = IterationsPerThread(context);
        return new ThreadTeam().Run(context, threads,
            _ => AllocateWriteFree<TAlloc, THandle>(allocator, iterations),
            PassCount(threads, iterations));
    }
}
