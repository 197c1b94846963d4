using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>rent-return-*</c>: a pool's rent and its return, the way buffer code uses a pool: rent a buffer, write it, give it
/// back. Four cases, each its own workload (<c>--workloads rent-return</c> selects all four): buffers of 4 KiB or of
/// mixed sizes (log-uniform 64 B..64 KiB); on one thread (rent, stamp, check, return, in a loop), or across threads
/// (a producer rents and stamps, a consumer thread checks and returns through a bounded queue of
/// <see cref="QueueSlots"/>, so every return is of a buffer another thread rented). Counts ns per rent+return.
/// The contenders are pools (<see cref="WorkloadKind.Rentals"/>); the ratios are to <c>MemoryPool&lt;byte&gt;.Shared</c>.
/// </summary>
public sealed class RentReturnWorkload(string label, bool mixed, bool crossThread) : ObjectWorkload
{
    /// <summary>The family's name: <c>--workloads rent-return</c> runs every case.</summary>
    public const string Family = "rent-return";
    public const uint FixedSize = 4096, MinSize = 64, MaxSize = 64 * 1024;
    public const int QueueSlots = 1024;

    private static readonly SizeTable MixedTable = new(MinSize, MaxSize);

    public override WorkloadKind Kind => WorkloadKind.Rentals;
    public override string Name => $"{Family}-{label}";
    public override string Description => (mixed ? $"mixed {MinSize} B..{MaxSize / 1024} KiB (log-uniform)" : $"{FixedSize / 1024} KiB") +
        (crossThread ? $": a producer thread rents and writes, a consumer thread checks and returns (queue of {QueueSlots:N0})" : ": 1 thread rents, writes, checks, returns");
    public override string Unit => "rent+return";
    public override bool Threaded => crossThread;
    public override string? Reference => "MemoryPool";

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        long n = context.Count(crossThread ? 1_000_000 : 2_000_000, 10_000);
        if (!crossThread) return mixed ? RunMixed<TAlloc, THandle>(allocator, context, n) : RunFixed<TAlloc, THandle>(allocator, context, n);

        var queue = new HandleQueue<THandle>(QueueSlots);
        var team = new ThreadTeam();
        bool isMixed = mixed;
        return team.Run(context, 2, t =>
        {
            if (t == 0) Produce<TAlloc, THandle>(allocator, queue, n, isMixed, team);
            else Consume<TAlloc, THandle>(allocator, queue, n, isMixed, team);
        }, n, QueueSlots * (long)(mixed ? MaxSize : FixedSize));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Measurement RunFixed<TAlloc, THandle>(TAlloc allocator, RunContext context, long n)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        const nuint size = FixedSize;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Measurement RunMixed<TAlloc, THandle>(TAlloc allocator, RunContext context, long n)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        var random = new FastRandom(Seed);
        SizeTable sizes = MixedTable;
        long start = context.BeginTimed();
        for (long i = 0; i < n; i++)
        {
            uint size = sizes.Next(ref random);
            THandle h = allocator.Allocate(size);
            ref byte data = ref allocator.Data(h);
            uint tag = (uint)i;
            Stamp.Write(ref data, size, tag);
            Stamp.Check(ref data, size, tag);
            allocator.Free(h, size);
        }
        return context.EndTimed(start, n, MaxSize);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Produce<TAlloc, THandle>(TAlloc allocator, HandleQueue<THandle> queue, long n, bool mixed, ThreadTeam team)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        var random = new FastRandom(Seed);
        SizeTable sizes = MixedTable;
        for (long i = 0; i < n; i++)
        {
            uint size = mixed ? sizes.Next(ref random) : FixedSize;
            THandle h = allocator.Allocate(size);
            Stamp.Write(ref allocator.Data(h), size, Stamp.Tag(i, size));
            queue.Enqueue(h, size, team);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Consume<TAlloc, THandle>(TAlloc allocator, HandleQueue<THandle> queue, long n, bool mixed, ThreadTeam team)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        for (long i = 0; i < n; i++)
        {
            THandle h = queue.Dequeue(out uint size, team);
            Stamp.Check(ref allocator.Data(h), size, Stamp.Tag(i, size));
            allocator.Free(h, size);
        }
    }
}
