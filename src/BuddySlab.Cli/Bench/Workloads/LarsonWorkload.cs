using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>larson</c> (the Larson–Krishnan server simulation, as mimalloc-bench runs it): T threads each work on an
/// array of 1,000 slots holding sizes uniform in 16..1023 bytes. In a round every thread replaces 10,000 random
/// slots of its array (check, free, allocate a new size, stamp); then the arrays move on to the next thread, so a
/// thread mostly frees memory another thread allocated. The arrays are filled by the main thread, untimed.
/// 200 rounds in a full run; counts ns per replacement (wall time over all threads' replacements).
/// </summary>
public sealed class LarsonWorkload : ObjectWorkload
{
    private const int Slots = 1_000;
    private const int ReplacementsPerRound = 10_000;
    private const uint MinSize = 16, MaxSize = 1023;

    public override string Name => "larson";
    public override string Description => $"server simulation: T threads replace random slots ({MinSize}..{MaxSize} B); slot arrays pass to the next thread each round";
    public override string Unit => "replace";
    public override bool Threaded => true;
    /// <summary>The live set is every thread's slot array, measured at the end of the timed run: the slot count is fixed and
    /// the sizes uniform, so its size stays within a few percent of that throughout.</summary>
    public override bool HasLiveSet => true;

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        int threads = context.Threads;
        int rounds = (int)context.Count(200, 2);
        var handles = new THandle[threads][];
        var sizes = new uint[threads][];
        var random = new FastRandom(Seed);
        for (int a = 0; a < threads; a++)
        {
            handles[a] = new THandle[Slots];
            sizes[a] = new uint[Slots];
            for (int i = 0; i < Slots; i++)
            {
                uint size = MinSize + random.NextBelow(MaxSize - MinSize + 1);
                handles[a][i] = allocator.Allocate(size);
                Stamp.Write(ref allocator.Data(handles[a][i]), size, Stamp.Tag(a * Slots + i, size));
                sizes[a][i] = size;
            }
        }

        var team = new ThreadTeam();
        using var barrier = new Barrier(threads);
        var m = team.Run(context, threads,
            t => Work<TAlloc, THandle>(allocator, t, rounds, handles, sizes, barrier, team),
            (long)threads * rounds * ReplacementsPerRound);

        long live = sizes.Sum(s => s.Sum(size => (long)size));
        for (int a = 0; a < threads; a++)
            for (int i = 0; i < Slots; i++)
            {
                Stamp.Check(ref allocator.Data(handles[a][i]), sizes[a][i], Stamp.Tag(a * Slots + i, sizes[a][i]));
                allocator.Free(handles[a][i], sizes[a][i]);
            }
        return m with { PeakLiveBytes = live };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Work<TAlloc, THandle>(TAlloc allocator, int thread, int rounds, THandle[][] handles, uint[][] sizes, Barrier barrier, ThreadTeam team)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        int arrays = handles.Length;
        var random = new FastRandom(Seed + (ulong)thread + 1);
        for (int r = 0; r < rounds; r++)
        {
            int a = (thread + r) % arrays;
            THandle[] slots = handles[a];
            uint[] slotSizes = sizes[a];
            for (int s = 0; s < ReplacementsPerRound; s++)
            {
                int i = (int)random.NextBelow(Slots);
                uint old = slotSizes[i];
                Stamp.Check(ref allocator.Data(slots[i]), old, Stamp.Tag(a * Slots + i, old));
                allocator.Free(slots[i], old);
                uint size = MinSize + random.NextBelow(MaxSize - MinSize + 1);
                THandle h = allocator.Allocate(size);
                Stamp.Write(ref allocator.Data(h), size, Stamp.Tag(a * Slots + i, size));
                slots[i] = h;
                slotSizes[i] = size;
            }
            barrier.SignalAndWait(team.Token);
        }
    }
}
