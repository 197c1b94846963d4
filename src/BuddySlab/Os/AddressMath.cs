using System.Numerics;
using System.Runtime.CompilerServices;

namespace BuddySlab.Os;

/// <summary>
/// Address and size arithmetic every layer shares: rounding up to an alignment and the rule that an alignment or a
/// page size is a power of two. Each rule lives here once.
/// </summary>
internal static class AddressMath
{
    /// <summary><paramref name="value"/> rounded up to a multiple of <paramref name="alignment"/> (a power of two); wraps
    /// to a small value when the result does not fit, so callers that can overflow check first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint AlignUp(nuint value, nuint alignment) => (value + alignment - 1) & ~(alignment - 1);

    /// <summary><see cref="AlignUp(nuint, nuint)"/> for sizes held in an <c>int</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int AlignUp(int value, int alignment) => (value + alignment - 1) & -alignment;

    /// <summary>True for a non-zero power of two: the only valid alignments and page sizes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPowerOfTwo(nuint value) => value != 0 && (value & (value - 1)) == 0;

    /// <summary>The natural alignment of <typeparamref name="T"/>: the offset at which the runtime places a <c>T</c> after a
    /// single byte, always a power of two (a JIT-time constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint NaturalAlignmentOf<T>() where T : unmanaged => (nuint)(Unsafe.SizeOf<Padded<T>>() - Unsafe.SizeOf<T>());

    /// <summary>The smallest power of two of at least <paramref name="value"/> (1 for 0), or 0 when it would not fit in a
    /// <c>nuint</c>.</summary>
    public static nuint RoundUpToPowerOfTwo(nuint value) => value <= 1 ? 1 : BitOperations.RoundUpToPowerOf2(value);

    private struct Padded<T> where T : unmanaged
    {
#pragma warning disable CS0649   // never assigned: only the layout matters
        public byte Lead;
        public T Value;
#pragma warning restore CS0649
    }
}
