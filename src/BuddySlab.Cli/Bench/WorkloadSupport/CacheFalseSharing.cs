using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// The inner loop shared by <c>cache-thrash</c> and <c>cache-scratch</c> (the Hoard false-sharing tests as
/// mimalloc-bench runs them): allocate an 8-byte object, write every byte of it <see cref="Passes"/> times (reading
/// one back each pass, so the stores cannot be merged), check it, free it. Each pass is one counted operation.
/// If the allocator gives two threads objects in the same cache line, their passes contend for the line and the
/// time per pass grows many times over; otherwise a pass costs a few nanoseconds.
/// </summary>
public static class CacheFalseSharing
{
    public const nuint ObjectSize = 8;
    public const int Passes = 100;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long AllocateWriteFree<TAlloc, THandle>(TAlloc allocator, int iterations)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        long sink = 0;
        for (int it = 0; it < iterations; it++)
        {
            THandle h = allocator.Allocate(ObjectSize);
            ref byte data = ref allocator.Data(h);
            for (int p = 0; p < Passes; p++)
            {
                for (int k = 0; k < (int)ObjectSize; k++) Unsafe.Add(ref data, k) = (byte)(p + k);
                sink += Volatile.Read(ref Unsafe.Add(ref data, p & ((int)ObjectSize - 1)));
            }
            if (Unsafe.Add(ref data, (int)ObjectSize - 1) != (byte)(Passes - 1 + (int)ObjectSize - 1))
                throw new CorruptionException("cache test: an object's last byte changed under its owner.");
            allocator.Free(h, ObjectSize);
        }
        return sink;
    }
}

/// <summary><c>cache-thrash</c> (active false sharing): every thread allocates, writes and frees its own small
/// objects; an allocator that packs different threads' objects into one cache line makes them thrash.
/// 200,000 objects per thread in a full run; counts ns per write pass (wall time over all threads' passes).</summary>
public sealed class CacheThrashWorkload : ObjectWorkload
{
    public override string Name => "cache-thrash";
    public override string Description => $"each thread: allocate 8 B, write it {CacheFalseSharing.Passes}x, free; repeat (active false sharing)";
    public override string Unit => "pass";
    public override bool Threaded => true;

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        int threads = context.Threads;
        int iterations = (int)context.Count(200_000, 100);
        return new ThreadTeam().Run(context, threads,
            _ => CacheFalseSharing.AllocateWriteFree<TAlloc, THandle>(allocator, iterations),
            (long)threads * iterations * CacheFalseSharing.Passes);
    }
}

/// <summary><c>cache-scratch</c> (passive false sharing): the main thread allocates one small object per thread (so
/// they are likely neighbours), each thread frees the one it was given and then allocates, writes and frees its own
/// repeatedly. An allocator that hands a thread back the remotely freed neighbour makes the threads thrash.
/// Counts ns per write pass, as cache-thrash.</summary>
public sealed class CacheScratchWorkload : ObjectWorkload
{
    public override string Name => "cache-scratch";
    public override string Description => $"main allocates one 8 B object per thread; each frees it, then allocates/writes {CacheFalseSharing.Passes}x/frees its own (passive false sharing)";
    public override string Unit => "pass";
    public override bool Threaded => true;

    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        int threads = context.Threads;
        int iterations = (int)context.Count(200_000, 100);
        var given = new THandle[threads];
        for (int t = 0; t < threads; t++)
        {
            given[t] = allocator.Allocate(CacheFalseSharing.ObjectSize);
            Stamp.Write(ref allocator.Data(given[t]), CacheFalseSharing.ObjectSize, Stamp.Tag(t, CacheFalseSharing.ObjectSize));
        }
        return new ThreadTeam().Run(context, threads, t =>
        {
            Stamp.Check(ref allocator.Data(given[t]), CacheFalseSharing.ObjectSize, Stamp.Tag(t, CacheFalseSharing.ObjectSize));
            allocator.Free(given[t], CacheFalseSharing.ObjectSize);
            CacheFalseSharing.AllocateWriteFree<TAlloc, THandle>(allocator, iterations);
        }, (long)threads * iterations * CacheFalseSharing.Passes);
    }
}
