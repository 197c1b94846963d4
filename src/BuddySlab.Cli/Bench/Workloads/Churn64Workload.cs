using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary><c>churn64</c>: one thread allocates 64 bytes, stamps, checks and frees them, in a loop (20M times in a
/// full run): the fast path of a size-class cache with nothing else going on.</summary>
public sealed class Churn64Workload : ObjectWorkload
{
    public override string Name => "churn64";
    public override string Description => "1 thread: allocate 64 bytes, write, free, in a loop";
    public override string Unit => "alloc+free";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        const nuint size = 64;
        long n = context.Count(20_000_000, 10_000);
        long start = context.BeginTimed();
        for (long i = 0; i < n; i++)
        {
            THandle h = allocator.Allocate(size);
            ref byte data = ref allocator.Data(h);
            uint tag = (uint)i;
            Stamp.Write(ref data, size, tag);
            Stamp.Check(ref data, size, tag);
            allocator.Free(h, size);
        }
        return context.EndTimed(start, n, (long)size);
    }
}
