using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// Writes a tag into the first and last 4 bytes of an allocation (sizes are at least 8, so the two never overlap)
/// and checks it before the free. The writes keep the JIT from treating an allocation as unused and make every
/// allocation really touch its memory; the check catches an allocator that gives the same bytes to two live
/// allocations or hands out memory too short for the request. Tags come from the slot and size
/// (<see cref="Tag"/>), so they need no storage and two live slots never share one.
/// </summary>
public static class Stamp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Tag(long slot, nuint size) => (uint)(((ulong)slot * 0x9E3779B97F4A7C15 + size) >> 29);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(ref byte data, nuint size, uint tag)
    {
        Unsafe.WriteUnaligned(ref data, tag);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref data, size - 4), ~tag);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(ref byte data, nuint size, uint tag)
    {
        if (Unsafe.ReadUnaligned<uint>(ref data) != tag || Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref data, size - 4)) != ~tag)
            Corrupted(Unsafe.ReadUnaligned<uint>(ref data), tag, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Corrupted(uint found, uint expected, nuint size) =>
        throw new CorruptionException($"Memory corruption: an allocation of {size} bytes held tag 0x{found:x8} (head) where 0x{expected:x8} was written.");
}
