using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// BuddySlab's typed slab cache, <see cref="ObjectCache{T}"/> of <see cref="Block64"/>, built with its parameterless
/// constructor: one-page slabs over the pages of <see cref="NativeHeap.Shared"/>. One cache per repetition, disposed
/// after (its slabs go back to the shared heap, which stays). It serves one object size and is single-threaded, so
/// the registry enters it for <c>object-cache</c> only; a request above 64 bytes is refused.
/// </summary>
public readonly unsafe struct ObjectCacheAllocator(ObjectCache<Block64> cache) : IBenchAllocator<nint>
{
    private readonly ObjectCache<Block64> _cache = cache;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size)
    {
        if (size > (nuint)sizeof(Block64)) ContenderThrow.TooLarge("ObjectCache<Block64>", size);
        return (nint)_cache.Allocate();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _cache.Free((Block64*)handle);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    public void Dispose() => _cache.Dispose();
}
