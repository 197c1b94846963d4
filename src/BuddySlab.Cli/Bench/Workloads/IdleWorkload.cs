using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>idle</c>: does an idle heap give its memory back on its own? On a new <see cref="NativeHeap"/> (default purge
/// interval), one thread allocates a live set of 512 MiB (64 MiB with <c>--quick</c>) in mixed sizes
/// (<see cref="HeapBlocks"/>, every page written), then frees it all in shuffled order, checking every block; that much
/// is timed (ns per block, allocation and free). Then nothing calls the heap: the resident size is sampled every 50 ms
/// for <see cref="Intervals"/> purge intervals (<see cref="ResidentWatch"/>), and the figure is the time until it is
/// back within 10% of the resident size just before the heap was created, in purge intervals. The curve is in the
/// JSON report. One contender: BuddySlab's heap, watched, not raced.
/// </summary>
public sealed class IdleWorkload : HeapWorkload
{
    public const long FullBytes = 512L << 20;
    public const int Intervals = 5;

    public override string Name => "idle";
    public override string Description => $"one contender (a dedicated NativeHeap): {FullBytes >> 20} MiB live of mixed sizes, all freed, then no call: resident size for {Intervals} purge intervals";
    public override string Unit => "block";
    public override bool HasLiveSet => true;
    public override int? MaxReps => 3;

    public override Measurement Run(Func<NativeHeapOptions, NativeHeap> createHeap, RunContext context)
    {
        long target = context.Count(FullBytes, 1 << 20);
        var options = new NativeHeapOptions();
        long preRun = ResidentWatch.Quiet();
        NativeHeap heap = createHeap(options);
        var (blocks, sizes, live) = Plan(target);
        var m = FillAndFree(heap, blocks, sizes, context, live);
        var (figures, curve) = ResidentWatch.Watch(heap, preRun, options.PurgeInterval, Intervals);
        context.Notes.Figures.AddRange([.. figures, ResidentWatch.AfterDispose(heap), new("live set", live, FigureUnit.Bytes)]);
        context.Notes.Series.Add(curve);
        return m;
    }

    /// <summary>The sizes of the live set and a shuffled free order, drawn untimed.</summary>
    private static (int[] Order, uint[] Sizes, long Live) Plan(long target)
    {
        var random = new FastRandom(Seed);
        var sizes = new List<uint>();
        long live = 0;
        while (live < target)
        {
            uint size = HeapBlocks.NextSize(ref random);
            sizes.Add(size);
            live += size;
        }
        var order = new int[sizes.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)random.NextBelow((uint)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return (order, sizes.ToArray(), live);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe Measurement FillAndFree(NativeHeap heap, int[] order, uint[] sizes, RunContext context, long live)
    {
        var blocks = new nint[sizes.Length];
        long start = context.BeginTimed();
        for (int i = 0; i < sizes.Length; i++)
        {
            byte* p = (byte*)heap.Allocate(sizes[i]);
            HeapBlocks.Write(p, sizes[i], Stamp.Tag(i, sizes[i]));
            blocks[i] = (nint)p;
        }
        foreach (int i in order)
        {
            HeapBlocks.Check((byte*)blocks[i], sizes[i], Stamp.Tag(i, sizes[i]));
            heap.Free((void*)blocks[i], sizes[i], INativeAllocator.DefaultAlignment(sizes[i]));
        }
        return context.EndTimed(start, sizes.Length, live);
    }
}
