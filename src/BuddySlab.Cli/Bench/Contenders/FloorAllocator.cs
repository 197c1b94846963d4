using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// The batch workloads' floor: a bump pointer through one large reservation whose free does nothing, starting over
/// once a batch has freed everything. No allocator can do less, so its figure is what the workload costs by itself:
/// writing each object in allocation order, then checking it in shuffled order (at a million objects, a cache miss
/// per object). Entered for the <c>batch-mixed-*</c> workloads only, which free all they allocate before allocating
/// again, on one thread.
/// </summary>
public readonly unsafe struct FloorAllocator : IBenchAllocator<nint>
{
    private const nuint ReservedBytes = (nuint)1 << 30;    // the largest batch: 1M objects of at most 2 KiB, 16-byte steps
    private static byte* s_base;
    private static nuint s_used;
    private static long s_live;

    public FloorAllocator()
    {
        if (s_base == null) s_base = (byte*)NativeMemory.AlignedAlloc(ReservedBytes, 4096);   // untouched pages cost nothing
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size)
    {
        nuint step = (size + 15) & ~(nuint)15;
        if (s_used + step > ReservedBytes) ThrowFull(size);
        byte* p = s_base + s_used;
        s_used += step;
        s_live++;
        return (nint)p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size)
    {
        if (--s_live == 0) s_used = 0;              // the whole batch is free: start over
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    public void Dispose() { }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowFull(nuint size) =>
        throw new InvalidOperationException($"The floor's {ReservedBytes >> 20} MiB reservation has no room for {size} more bytes: it serves one batch at a time.");
}
