using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>The out-of-line throw for a fixed-size contender asked for more than its object size.</summary>
internal static class TooLarge
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(string allocator, nuint size) =>
        throw new ArgumentOutOfRangeException(nameof(size), size, $"{allocator} serves objects of {Unsafe.SizeOf<Block64>()} bytes, not {size}.");
}

/// <summary>The out-of-line throw for a native allocator that returned null.</summary>
internal static class OutOfMemory
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(string function, nuint size) => throw new OutOfMemoryException($"{function}({size}) returned null.");
}
