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
