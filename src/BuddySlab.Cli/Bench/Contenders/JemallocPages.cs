using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>Pages from jemalloc's aligned_alloc(4096, size) / free.</summary>
public readonly unsafe struct JemallocPages(JemallocExports je) : IPageAllocator
{
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*> _alignedAlloc = je.AlignedAlloc;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> _free = je.Free;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* AllocatePages(nuint pages)
    {
        void* p = _alignedAlloc(IPageAllocator.PageSize, pages * IPageAllocator.PageSize);
        if (p == null) ContenderThrow.OutOfMemory("jemalloc aligned_alloc", pages * IPageAllocator.PageSize);
        return (byte*)p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(byte* address, nuint pages) => _free(address);

    public void Dispose() { }
}
