using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>batch-mixed-N</c>: allocate N objects of log-uniform sizes in 8..2048 bytes, then free them all in a shuffled
/// order; repeated for as many rounds as the run asks (a full run: 2M objects for 10k, 1M for 100k and 1m). Counts
/// ns per object (its allocation and its free). The sizes and the free order are drawn once per batch size and
/// shared by every contender. The warm-up is one batch of at most 100,000 objects. The peak of live bytes (the sum
/// of one batch's sizes) is what <c>--memory</c> divides the peak resident memory by.
/// </summary>
public sealed class BatchMixedWorkload(string label, int objects, int fullRounds) : ObjectWorkload
{
    private const int MaxWarmUpObjects = 100_000;
    private readonly Dictionary<int, Batch> _batches = [];

    public override string Name => $"batch-mixed-{label}";
    public override string Description => $"1 thread: allocate {objects:N0} objects of 8..2048 bytes, free them in shuffled order";
    public override string Unit => "object";
    public override bool HasLiveSet => true;

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        var batch = BatchOf(context.IsWarmUp ? Math.Min(objects, MaxWarmUpObjects) : objects);
        int rounds = context.IsWarmUp ? 1 : (int)context.Count(fullRounds, 1);
        return RunRounds<TAlloc, THandle>(allocator, context, rounds, batch);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Measurement RunRounds<TAlloc, THandle>(TAlloc allocator, RunContext context, int rounds, Batch batch)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        uint[] sizes = batch.Sizes;
        int[] freeOrder = batch.FreeOrder;
        int n = sizes.Length;
        var handles = new THandle[n];
        long start = context.BeginTimed();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < n; i++)
            {
                uint size = sizes[i];
                THandle h = allocator.Allocate(size);
                Stamp.Write(ref allocator.Data(h), size, Stamp.Tag(i, size));
                handles[i] = h;
            }
            for (int j = 0; j < n; j++)
            {
                int i = freeOrder[j];
                uint size = sizes[i];
                Stamp.Check(ref allocator.Data(handles[i]), size, Stamp.Tag(i, size));
                allocator.Free(handles[i], size);
            }
        }
        return context.EndTimed(start, (long)rounds * n, batch.Bytes);
    }

    private Batch BatchOf(int n)
    {
        if (_batches.TryGetValue(n, out var batch)) return batch;
        var random = new FastRandom(Seed ^ (ulong)n);
        var sizes = new uint[n];
        long total = 0;
        for (int i = 0; i < n; i++) total += sizes[i] = MixedSizes.Next(ref random);
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)random.NextBelow((uint)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return _batches[n] = new Batch(sizes, order, total);
    }

    /// <summary>One batch's sizes, free order and total requested bytes.</summary>
    private sealed record Batch(uint[] Sizes, int[] FreeOrder, long Bytes);
}
