using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// What <c>cache-thrash</c> and <c>cache-scratch</c> (the Hoard false-sharing tests as mimalloc-bench runs them)
/// share: the unit, the size and the inner loop. The loop allocates an 8-byte object, writes every byte of it
/// <see cref="Passes"/> times (reading one back each pass, so the stores cannot be merged), checks it and frees it.
/// Each pass is one counted operation. If the allocator gives two threads objects in the same cache line, their
/// passes contend for the line and the time per pass grows many times over; otherwise a pass costs a few nanoseconds.
/// </summary>
public abstract class CacheFalseSharingWorkload : ObjectWorkload
{
    public const nuint ObjectSize = 8;
    public const int Passes = 100;

    public sealed override string Unit => "pass";
    public sealed override bool Threaded => true;

    /// <summary>Objects each thread allocates, writes and frees: 200,000 in a full run.</summary>
    protected static int IterationsPerThread(RunContext context) => (int)context.Count(200_000, 100);

    /// <summary>The counted operations of a run: every thread's write passes.</summary>
    protected static long PassCount(int threads, int iterations) => (long)threads * iterations * Passes;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected static long AllocateWriteFree<TAlloc, THandle>(TAlloc allocator, int iterations)
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
