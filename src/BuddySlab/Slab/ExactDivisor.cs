using System.Numerics;
using System.Runtime.CompilerServices;

namespace BuddySlab.Slab;

/// <summary>
/// Turning an offset into an object index with one multiply and one rotate, and knowing at the same time whether the
/// offset starts an object at all: the one division trick every slab-like layout here uses (slab headers, the free
/// path's per-class table, the typed object cache).
/// <para><b>Why it is exact.</b> Write the divisor as <c>d = odd × 2^shift</c> and let <c>inverse</c> be the inverse of
/// <c>odd</c> modulo 2^64. For any 64-bit <c>n</c>, <c>RotateRight(n × inverse, shift)</c> equals <c>n / d</c> when
/// <c>d</c> divides <c>n</c>; otherwise it is at least <c>2^64 / d</c> (a low bit rotated to the top, or a product above
/// <c>(2^64 - 1) / odd</c>), far above any object count. So comparing the result with the object count accepts exactly
/// the offsets <c>i × d</c> with <c>i</c> below the count, and an address below the first object wraps to a huge
/// offset that fails the same way.</para>
/// </summary>
internal static class ExactDivisor
{
    /// <summary>The inverse of <paramref name="divisor"/>'s odd part and its number of trailing zero bits.</summary>
    public static (ulong Inverse, int Shift) For(ulong divisor)
    {
        int shift = BitOperations.TrailingZeroCount(divisor);
        return (InverseOf(divisor >> shift), shift);
    }

    /// <summary><paramref name="offset"/> divided by the divisor when it divides exactly; otherwise a value of at least
    /// 2^64 divided by the divisor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Divide(nuint offset, ulong inverse, int shift) => BitOperations.RotateRight((ulong)offset * inverse, shift);

    /// <summary>The inverse of an odd number modulo 2^64 (Newton's iteration doubles the correct low bits each step).</summary>
    internal static ulong InverseOf(ulong odd)
    {
        ulong x = odd;                                  // correct to 3 bits: odd × odd ≡ 1 (mod 8)
        for (int i = 0; i < 5; i++) x *= 2 - odd * x;   // 6, 12, 24, 48, 96 bits
        return x;
    }
}
