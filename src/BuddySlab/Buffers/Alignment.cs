using System.Runtime.CompilerServices;

namespace BuddySlab.Buffers;

/// <summary>
/// Alignments the buffer types allocate with. <see cref="Default"/> is what <see cref="INativeAllocator.Allocate(nuint)"/>
/// promises (and what its sized free expects); <see cref="Of{T}"/> is a type's natural alignment, the offset at which
/// the runtime places a <c>T</c> after a single byte, always a power of two.
/// </summary>
internal static class Alignment
{
    /// <summary>The allocator's default alignment for a block of <paramref name="bytes"/>: 16 from 16 bytes on, 8 below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Default(nuint bytes) => bytes >= 16 ? 16u : 8u;

    /// <summary>The natural alignment of <typeparamref name="T"/> (a JIT-time constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Of<T>() where T : unmanaged => (nuint)(Unsafe.SizeOf<Padded<T>>() - Unsafe.SizeOf<T>());

    /// <summary>What a block of <paramref name="bytes"/> holding <typeparamref name="T"/> values is aligned to: the
    /// default alignment, or <typeparamref name="T"/>'s own when that is larger.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint For<T>(nuint bytes) where T : unmanaged => Math.Max(Of<T>(), Default(bytes));

    private struct Padded<T> where T : unmanaged
    {
#pragma warning disable CS0649   // never assigned: only the layout matters
        public byte Lead;
        public T Value;
#pragma warning restore CS0649
    }
}
