using System.Runtime.CompilerServices;
using BuddySlab.Os;

namespace BuddySlab.Buffers;

/// <summary>
/// The alignment the buffer types allocate with: the allocator's default (<see cref="INativeAllocator.DefaultAlignment"/>,
/// which its sized free expects too), or the element type's natural alignment when that is larger.
/// </summary>
internal static class BufferAlignment
{
    /// <summary>What a block of <paramref name="bytes"/> holding <typeparamref name="T"/> values is aligned to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint For<T>(nuint bytes) where T : unmanaged => Math.Max(AddressMath.NaturalAlignmentOf<T>(), INativeAllocator.DefaultAlignment(bytes));
}
