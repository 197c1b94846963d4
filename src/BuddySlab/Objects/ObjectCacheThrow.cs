using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab;

/// <summary>
/// Out-of-line throw sites of <see cref="ObjectCache{T}"/>, so that Allocate and Free stay small; each
/// formats its message only when it throws.
/// </summary>
internal static class ObjectCacheThrow
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Disposed<T>() where T : unmanaged =>
        throw new AllocatorException(AllocError.NotInitialized, $"This {Name<T>()} has been disposed; its slabs are back with the backend.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NoMemory<T>(nuint slabSize, nuint pageSize, ObjectSizeType sizeType) where T : unmanaged =>
        throw new AllocatorException(AllocError.NoMemory, sizeType == ObjectSizeType.Large
            ? $"Out of memory: {Name<T>()} got no slab of {slabSize} bytes aligned to {pageSize}, or no slab info for it, from its backend."
            : $"Out of memory: {Name<T>()} got no slab of {slabSize} bytes aligned to {pageSize} from its backend.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotFound<T>(nuint address) where T : unmanaged =>
        throw new AllocatorException(AllocError.NotFound, $"Address 0x{address:x} is not in any slab of this {Name<T>()}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotAllocated<T>(nuint address, string why) where T : unmanaged =>
        throw new AllocatorException(AllocError.NotAllocated, $"Address 0x{address:x} {why} in this {Name<T>()}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void BadSlabInfo<T>(nuint slab) where T : unmanaged =>
        throw new InvalidOperationException($"The slab info of the slab at 0x{slab:x} in this {Name<T>()} was overwritten: it counts free objects its bitmap does not have.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void BadBackend(string what) =>
        throw new InvalidOperationException($"The slab memory backend broke its contract: {what}.");

    private static string Name<T>() where T : unmanaged => $"ObjectCache<{typeof(T).Name}>";
}
