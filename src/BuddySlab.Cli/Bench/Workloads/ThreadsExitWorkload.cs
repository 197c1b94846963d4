using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>threads-exit</c>: does a heap take back what threads that died left in their caches, with no call? On a new
/// <see cref="NativeHeap"/> (default purge interval), <see cref="ThreadCount"/> threads run together for a number of
/// rounds: each allocates a batch of <see cref="Batch"/> blocks of mixed sizes (<see cref="HeapBlocks"/>: slab objects
/// and page runs, every page written), frees half of them itself and hands the other half to the next thread, which
/// frees them after a barrier; blocks are checked before every free. Then the threads exit, holding no block but
/// never flushing their caches. That much is timed (ns per block). Then nothing calls the heap: the resident size is
/// sampled every 50 ms for <see cref="Intervals"/> purge intervals (<see cref="ResidentWatch"/>), and the figure is the
/// time until it is back within 10% of the resident size just before the heap was created, in purge intervals; that
/// size is taken after a dry wave of as many threads without the heap (<see cref="DryWave"/>). One contender: BuddySlab's heap, watched, not raced.
/// </summary>
public sealed class ThreadsExitWorkload : HeapWorkload
{
    public const int ThreadCount = 32, Batch = 1_000, Intervals = 5;

    public override string Name => "threads-exit";
    public override string Description => $"one contender (a dedicated NativeHeap): {ThreadCount} threads allocate mixed blocks, free half and hand half to a neighbour, exit without flushing; then no call: resident size for {Intervals} purge intervals";
    public override string Unit => "block";
    public override int? MaxReps => 3;

    public override Measurement Run(Func<NativeHeapOptions, NativeHeap> createHeap, RunContext context)
    {
        int rounds = (int)context.Count(20, 2);
        var options = new NativeHeapOptions();
        DryWave();
        long preRun = ResidentWatch.Quiet();
        NativeHeap heap = createHeap(options);
        var inboxes = new nint[ThreadCount][];
        var inboxSizes = new uint[ThreadCount][];
        for (int t = 0; t < ThreadCount; t++)
        {
            inboxes[t] = new nint[Batch / 2];
            inboxSizes[t] = new uint[Batch / 2];
        }
        var team = new ThreadTeam();
        using var barrier = new Barrier(ThreadCount);
        var m = team.Run(context, ThreadCount, t => Work(heap, t, rounds, inboxes, inboxSizes, barrier, team), (long)ThreadCount * rounds * Batch);
        var (figures, curve) = ResidentWatch.Watch(heap, preRun, options.PurgeInterval, Intervals);
        context.Notes.Figures.AddRange([.. figures, ResidentWatch.AfterDispose(heap)]);
        context.Notes.Series.Add(curve);
        return m;
    }

    /// <summary>Starts and joins as many threads as the run will, doing what the run's threads do apart from the heap (a
    /// barrier, some managed arrays, a deep stack), so that what the runtime and the C library keep after threads exit
    /// (cached thread stacks, malloc arenas) is already in the pre-run resident size and not charged to the heap.</summary>
    private static void DryWave()
    {
        using var barrier = new Barrier(ThreadCount);
        var threads = Enumerable.Range(0, ThreadCount).Select(_ => new Thread(() =>
        {
            Span<byte> stack = stackalloc byte[64 * 1024];
            stack.Fill(1);
            GC.KeepAlive(new nint[Batch]);
            barrier.SignalAndWait();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
    }

    /// <summary>One thread's rounds: allocate a batch, free the first half, hand the second half to the next thread;
    /// after the barrier, free what the previous thread handed over. Ends holding nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Work(NativeHeap heap, int thread, int rounds, nint[][] inboxes, uint[][] inboxSizes, Barrier barrier, ThreadTeam team)
    {
        var random = new FastRandom(Seed + (ulong)thread + 1);
        var blocks = new nint[Batch];
        var sizes = new uint[Batch];
        int next = (thread + 1) % ThreadCount;
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < Batch; i++)
            {
                uint size = HeapBlocks.NextSize(ref random);
                byte* p = (byte*)heap.Allocate(size);
                HeapBlocks.Write(p, size, Stamp.Tag(i, size));
                blocks[i] = (nint)p;
                sizes[i] = size;
            }
            for (int i = 0; i < Batch / 2; i++)
            {
                HeapBlocks.Check((byte*)blocks[i], sizes[i], Stamp.Tag(i, sizes[i]));
                heap.Free((void*)blocks[i], sizes[i], INativeAllocator.DefaultAlignment(sizes[i]));
            }
            Array.Copy(blocks, Batch / 2, inboxes[next], 0, Batch / 2);
            Array.Copy(sizes, Batch / 2, inboxSizes[next], 0, Batch / 2);
            barrier.SignalAndWait(team.Token);
            nint[] mine = inboxes[thread];
            uint[] mineSizes = inboxSizes[thread];
            for (int i = 0; i < Batch / 2; i++)
            {
                int tag = Batch / 2 + i;
                HeapBlocks.Check((byte*)mine[i], mineSizes[i], Stamp.Tag(tag, mineSizes[i]));
                heap.Free((void*)mine[i]);
            }
            barrier.SignalAndWait(team.Token);
        }
    }
}
