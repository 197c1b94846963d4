using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>glibc-simple</c> (after glibc's benchtests/bench-malloc-simple): one thread allocates a block of N
/// fixed-size objects, then frees them in the same order, over and over; for N in 25, 100, 400, 1600 and sizes
/// 16, 64, 256, 1024 and 4096 bytes, 200,000 objects per (N, size) in a full run. Counts ns per object (its
/// allocation and its free), over all the combinations.
/// </summary>
public sealed class GlibcSimpleWorkload : ObjectWorkload
{
    private static readonly int[] Counts = [25, 100, 400, 1600];
    private static readonly uint[] Sizes = [16, 64, 256, 1024, 4096];

    public override string Name => "glibc-simple";
    public override string Description => "blocks of 25..1600 fixed-size objects (16..4096 B) allocated, then freed in order";
    public override string Unit => "object";
    public override bool HasLiveSet => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        var handles = new THandle[Counts[^1]];
        long perCombination = context.Count(200_000, 1_600);
        long total = 0;
        long start = context.BeginTimed();
        foreach (uint size in Sizes)
        {
            foreach (int n in Counts)
            {
                long iterations = perCombination / n;
                for (long it = 0; it < iterations; it++)
                {
                    for (int i = 0; i < n; i++)
                    {
                        THandle h = allocator.Allocate(size);
                        Stamp.Write(ref allocator.Data(h), size, Stamp.Tag(i, size));
                        handles[i] = h;
                    }
                    for (int i = 0; i < n; i++)
                    {
                        Stamp.Check(ref allocator.Data(handles[i]), size, Stamp.Tag(i, size));
                        allocator.Free(handles[i], size);
                    }
                }
                total += iterations * n;
            }
        }
        return context.EndTimed(start, total, (long)Counts[^1] * Sizes[^1]);
    }
}
