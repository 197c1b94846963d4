using System.Numerics;
using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// What a free needs to know about a size class to check an object's position without reading its slab's header:
/// the mask from an object to its slab, where the first object starts, and an exact test of "this offset starts one
/// of the slab's objects". One per class, 32 bytes, in an array the free path indexes.
/// <para><b>The test.</b> Write the object size as <c>d = odd × 2^Shift</c> and let <see cref="Inverse"/> be the
/// inverse of <c>odd</c> modulo 2^64. For any 64-bit offset <c>n</c>, <c>RotateRight(n × Inverse, Shift)</c> equals
/// <c>n / d</c> when <c>d</c> divides <c>n</c>; otherwise it is at least <c>2^64 / d</c> (a low bit rotated to the top,
/// or a product above <c>(2^64 - 1) / odd</c>), far above any object count. So one multiply, one rotate and one
/// compare against <see cref="Count"/> accept exactly the offsets <c>i × d</c> with <c>i &lt; Count</c>, and an
/// address below the first object wraps to a huge offset that fails the same way.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SlabClassInfo
{
    public nuint SlabMask;          // ~(slab bytes - 1)
    public nuint FirstOffset;       // bytes from the slab's start to its first object
    public ulong Inverse;           // inverse of the object size's odd part, modulo 2^64
    public uint Count;              // objects per slab
    public int Shift;               // trailing zero bits of the object size

    public static SlabClassInfo For(SizeClassTable table, int cls)
    {
        SizeClass c = table.Classes[cls];
        int shift = BitOperations.TrailingZeroCount(c.ObjectSize);
        return new SlabClassInfo
        {
            SlabMask = ~(nuint)(table.SlabBytes[cls] - 1),
            FirstOffset = (nuint)c.FirstObjectOffset,
            Inverse = InverseOf((ulong)c.ObjectSize >> shift),
            Count = (uint)c.ObjectsPerSlab,
            Shift = shift,
        };
    }

    /// <summary>The index of the object starting <paramref name="offset"/> bytes past the first one, or a value of at
    /// least <see cref="Count"/> when no object starts there.</summary>
    public readonly ulong IndexOf(nuint offset) => BitOperations.RotateRight((ulong)offset * Inverse, Shift);

    /// <summary>The inverse of an odd number modulo 2^64 (Newton's iteration doubles the correct low bits each step).</summary>
    internal static ulong InverseOf(ulong odd)
    {
        ulong x = odd;                                  // correct to 3 bits: odd × odd ≡ 1 (mod 8)
        for (int i = 0; i < 5; i++) x *= 2 - odd * x;   // 6, 12, 24, 48, 96 bits
        return x;
    }
}
