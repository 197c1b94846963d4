using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>A C allocator's malloc / free (mimalloc's mi_malloc / mi_free, jemalloc's malloc / free) through unmanaged
/// function pointers: no P/Invoke marshalling, no GC transition.</summary>
public readonly unsafe struct CMallocAllocator(
    delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> malloc,
    delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> free,
    string mallocName) : IBenchAllocator<nint>
{
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> _malloc = malloc;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> _free = free;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size)
    {
        void* p = _malloc(size);
        if (p == null) ContenderThrow.OutOfMemory(mallocName, size);
        return (nint)p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _free((void*)handle);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    public void Dispose() { }
}
