using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab.Diagnostics;

// The throw sites of the typed object cache: each message names the cache by its element type.
internal static partial class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void CacheDisposed<T>() where T : unmanaged => Disposed(CacheName<T>());

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void CacheNoMemory<T>(nuint slabSize, nuint pageSize, bool infoFromBackend) where T : unmanaged =>
        throw new AllocatorException(AllocError.NoMemory, infoFromBackend
            ? $"Out of memory: {CacheName<T>()} got no slab of {slabSize} bytes aligned to {pageSize}, or no slab info for it, from its backend."
            : $"Out of memory: {CacheName<T>()} got no slab of {slabSize} bytes aligned to {pageSize} from its backend.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void CacheNotFound<T>(nuint address) where T : unmanaged =>
        throw new AllocatorException(AllocError.NotFound, $"Address 0x{address:x} is not in any slab of this {CacheName<T>()}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void CacheNotAllocated<T>(nuint address, string why) where T : unmanaged =>
        throw new AllocatorException(AllocError.NotAllocated, $"Address 0x{address:x} {why} in this {CacheName<T>()}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void CacheBadSlabInfo<T>(nuint slab) where T : unmanaged =>
        throw new InvalidOperationException($"The slab info of the slab at 0x{slab:x} in this {CacheName<T>()} was overwritten: it counts free objects its bitmap does not have.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void BadBackend(string what) =>
        throw new InvalidOperationException($"The slab memory backend broke its contract: {what}.");

    private static string CacheName<T>() where T : unmanaged => $"ObjectCache<{typeof(T).Name}>";
}
