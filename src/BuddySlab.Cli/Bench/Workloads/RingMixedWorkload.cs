using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary><c>ring-mixed</c>: one thread keeps 1,000 live allocations of log-uniform sizes in 8..2048 bytes and
/// replaces a random one per step (5M steps in a full run): size-class caches under a steady, mixed load.
/// <c>heap-churn</c> runs the same loop over other sizes; they stay two copies on purpose: one shared generic loop
/// (with the size source as a type parameter) made BuddySlab 15% slower in both, the JIT no longer inlining the
/// heap's fast paths into the larger method.</summary>
public sealed class RingMixedWorkload : ObjectWorkload
{
    public const int Slots = 1_000;

    public override string Name => "ring-mixed";
    public override string Description => $"1 thread: {Slots:N0} live slots of 8..2048 bytes (log-uniform), a random one replaced per step";
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
            uint size = MixedSizes.Next(ref random);
            handles[i] = allocator.Allocate(size);
            Stamp.Write(ref allocator.Data(handles[i]), size, Stamp.Tag(i, size));
            sizes[i] = size;
            live += size;
        }

        long steps = context.Count(5_000_000, 10_000);
        long peak = live;
        long start = context.BeginTimed();
        for (long s = 0; s < steps; s++)
        {
            int i = (int)random.NextBelow(Slots);
            uint old = sizes[i];
            Stamp.Check(ref allocator.Data(handles[i]), old, Stamp.Tag(i, old));
            allocator.Free(handles[i], old);
            uint size = MixedSizes.Next(ref random);
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
}
