using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary><c>cache-scratch</c> (passive false sharing): the main thread allocates one small object per thread (so
/// they are likely neighbours), each thread frees the one it was given and then allocates, writes and frees its own
/// repeatedly. An allocator that hands a thread back the remotely freed neighbour makes the threads thrash.
/// Counts ns per write pass, as cache-thrash.</summary>
public sealed class CacheScratchWorkload : CacheFalseSharingWorkload
{
    public override string Name => "cache-scratch";
    public override string Description => $"main allocates one 8 B object per thread; each frees it, then allocates/writes {Passes}x/frees its own (passive false sharing)";

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        int threads = context.Threads;
        int iterations = IterationsPerThread(context);
        var given = new THandle[threads];
        for (int t = 0; t < threads; t++)
        {
            given[t] = allocator.Allocate(ObjectSize);
            Stamp.Write(ref allocator.Data(given[t]), ObjectSize, Stamp.Tag(t, ObjectSize));
        }
        return new ThreadTeam().Run(context, threads, t =>
        {
            Stamp.Check(ref allocator.Data(given[t]), ObjectSize, Stamp.Tag(t, ObjectSize));
            allocator.Free(given[t], ObjectSize);
            AllocateWriteFree<TAlloc, THandle>(allocator, iterations);
        }, PassCount(threads, iterations));
    }
}
