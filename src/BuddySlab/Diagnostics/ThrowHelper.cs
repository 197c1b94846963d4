using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab.Diagnostics;

/// <summary>
/// Out-of-line throw sites, so that the allocation and free fast paths stay small enough to inline:
/// each method formats its message only when it is actually thrown.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(AllocError error, string message) => throw new AllocatorException(error, message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotInitialized(string what) =>
        throw new AllocatorException(AllocError.NotInitialized, $"The {what} is not initialized: call Init first.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidCount(nuint count) =>
        throw new AllocatorException(AllocError.InvalidParam, $"Page count {count} is invalid: it must be at least 1 and its byte size must not overflow.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidAlignment(nuint alignment) =>
        throw new AllocatorException(AllocError.InvalidParam, $"Alignment {alignment} (0x{alignment:x}) is not a power of two.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NoMemory(nuint bytes, nuint alignment) =>
        throw new AllocatorException(AllocError.NoMemory, $"Out of memory: no free block of {bytes} bytes aligned to {alignment}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotAllocated(nuint address, string why) =>
        throw new AllocatorException(AllocError.NotAllocated, $"Address 0x{address:x} {why}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotFound(nuint address) =>
        throw new AllocatorException(AllocError.NotFound, $"Address 0x{address:x} is outside every managed region.");
}
