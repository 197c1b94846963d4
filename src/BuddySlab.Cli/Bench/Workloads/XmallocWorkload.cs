using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>xmalloc</c> (cross-thread frees, after xmalloc-test): a producer thread allocates 64-byte objects in batches
/// of 1,000 and hands each batch to a consumer thread, which checks and frees them: every free is remote. With
/// <c>--threads N</c> there are N/2 producer–consumer pairs (at least one). Batches travel through a ring of 16
/// preallocated buffers per pair, each with its own cache line for the full/empty flag. 2M objects in a full run.
/// </summary>
public sealed class XmallocWorkload : ObjectWorkload
{
    private const int Batch = 1_000;
    private const int RingSlots = 16;
    private const int FlagStride = 16;   // ints: one 64-byte line per flag
    private const nuint Size = 64;

    public override string Name => "xmalloc";
    public override string Description => "producer allocates 64 B in batches of 1,000, a consumer thread frees them (all frees remote)";
    public override string Unit => "object";
    public override bool Threaded => true;
    /// <summary>The live set is what is in flight: every ring slot full, the bound of what the producers can hold.</summary>
    public override bool HasLiveSet => true;

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        int pairs = Math.Max(1, context.Threads / 2);
        int batches = (int)Math.Max(1, context.Count(2_000, 4) / pairs);
        var rings = new Ring<THandle>[pairs];
        for (int p = 0; p < pairs; p++) rings[p] = new Ring<THandle>();
        var team = new ThreadTeam();
        return team.Run(context, pairs * 2, t =>
        {
            var ring = rings[t / 2];
            if (t % 2 == 0) Produce<TAlloc, THandle>(allocator, ring, batches, t / 2, team);
            else Consume<TAlloc, THandle>(allocator, ring, batches, t / 2, team);
        }, (long)pairs * batches * Batch, pairs * RingSlots * Batch * (long)Size);
    }

    private sealed class Ring<THandle>
    {
        public readonly THandle[][] Buffers = Enumerable.Range(0, RingSlots).Select(_ => new THandle[Batch]).ToArray();
        public readonly int[] Full = new int[RingSlots * FlagStride];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Produce<TAlloc, THandle>(TAlloc allocator, Ring<THandle> ring, int batches, int pair, ThreadTeam team)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        for (int b = 0; b < batches; b++)
        {
            int k = b % RingSlots;
            team.WaitFor(ref ring.Full[k * FlagStride], 0);
            THandle[] buffer = ring.Buffers[k];
            for (int i = 0; i < buffer.Length; i++)
            {
                THandle h = allocator.Allocate(Size);
                Stamp.Write(ref allocator.Data(h), Size, Stamp.Tag(pair * Batch + i, Size));
                buffer[i] = h;
            }
            Volatile.Write(ref ring.Full[k * FlagStride], 1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Consume<TAlloc, THandle>(TAlloc allocator, Ring<THandle> ring, int batches, int pair, ThreadTeam team)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        for (int b = 0; b < batches; b++)
        {
            int k = b % RingSlots;
            team.WaitFor(ref ring.Full[k * FlagStride], 1);
            THandle[] buffer = ring.Buffers[k];
            for (int i = 0; i < buffer.Length; i++)
            {
                Stamp.Check(ref allocator.Data(buffer[i]), Size, Stamp.Tag(pair * Batch + i, Size));
                allocator.Free(buffer[i], Size);
                buffer[i] = default;
            }
            Volatile.Write(ref ring.Full[k * FlagStride], 0);
        }
    }
}
