using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>heap-churn</c> (after BenchmarkDotNet's <c>BuddyHeapBenchmarks</c>): one thread keeps 1,000 live blocks of sizes
/// uniform in 16..4096 bytes and, per step, frees a random one and allocates a new random size in its place (2M
/// steps in a full run). The mixed-size churn a buddy heap is built for: it is where BuddySlab's single-threaded
/// <see cref="BuddyHeap"/> (a contender entered for this workload only) meets the general-purpose allocators.
/// </summary>
public sealed class HeapChurnWorkload : ObjectWorkload
{
    /// <summary>The workload's name, also what a contender scoped to it names (<c>onlyFor</c>).</summary>
    public const string Id = "heap-churn";
    public const int Slots = 1_000;
    public const uint MinSize = 16, MaxSize = 4096;

    public override string Name => Id;
    public override string Description => $"1 thread: {Slots:N0} live blocks of {MinSize}..{MaxSize} bytes (uniform), a random one freed and a new one allocated per step";
    public override string Unit => "step";
    public override bool HasLiveSet => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        var handles = new THandle[Slots];
        var sizes = new uint[Slots];
        var random = new FastRandom(Seed);
        long live = 0;
        for (int i = 0; i < Slots; i++)
        {
            uint size = NextSize(ref random);
            handles[i] = allocator.Allocate(size);
            Stamp.Write(ref allocator.Data(handles[i]), size, Stamp.Tag(i, size));
            sizes[i] = size;
            live += size;
        }

        long steps = context.Count(2_000_000, 10_000);
        long peak = live;
        long start = context.BeginTimed();
        for (long s = 0; s < steps; s++)
        {
            int i = (int)random.NextBelow(Slots);
            uint old = sizes[i];
            Stamp.Check(ref allocator.Data(handles[i]), old, Stamp.Tag(i, old));
            allocator.Free(handles[i], old);
            uint size = NextSize(ref random);
            THandle h = allocator.Allocate(size);
            Stamp.Write(ref allocator.Data(h), size, Stamp.Tag(i, size));
            handles[i] = h;
            sizes[i] = size;
            live += size - (long)old;
            if (live > peak) peak = live;
        }
        var m = context.EndTimed(start, steps, peak);

        for (int i = 0; i < Slots; i++)
        {
            Stamp.Check(ref allocator.Data(handles[i]), sizes[i], Stamp.Tag(i, sizes[i]));
            allocator.Free(handles[i], sizes[i]);
        }
        return m;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NextSize(ref FastRandom random) => MinSize + random.NextBelow(MaxSize - MinSize + 1);
}
