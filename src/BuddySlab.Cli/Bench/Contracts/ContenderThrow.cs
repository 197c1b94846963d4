using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// The contenders' out-of-line throws: each is one call from an inlined allocation path, which stays small because
/// the message is built here, never in the timed loop.
/// </summary>
internal static class ContenderThrow
{
    /// <summary>A native allocator returned null.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void OutOfMemory(string function, nuint size) => throw new OutOfMemoryException($"{function}({size}) returned null.");

    /// <summary>A fixed-size contender (one <see cref="Block64"/> per object) was asked for more than its object size.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void TooLarge(string allocator, nuint size) =>
        throw new ArgumentOutOfRangeException(nameof(size), size, $"{allocator} serves objects of {Unsafe.SizeOf<Block64>()} bytes, not {size}.");
}
