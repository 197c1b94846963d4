using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>Pages from mi_malloc_aligned(size, 4096) / mi_free.</summary>
public readonly unsafe struct MimallocPages(MimallocExports mi) : IPageAllocator
{
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*> _mallocAligned = mi.MallocAligned;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> _free = mi.Free;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* AllocatePages(nuint pages)
    {
        void* p = _mallocAligned(pages * IPageAllocator.PageSize, IPageAllocator.PageSize);
        if (p == null) ContenderThrow.OutOfMemory("mi_malloc_aligned", pages * IPageAllocator.PageSize);
        return (byte*)p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(byte* address, nuint pages) => _free(address);

    public void Dispose() { }
}
