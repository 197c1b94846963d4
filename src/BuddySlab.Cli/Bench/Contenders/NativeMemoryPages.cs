using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>Pages from <see cref="NativeMemory.AlignedAlloc"/> (posix_memalign) with 4096-byte alignment.</summary>
public readonly unsafe struct NativeMemoryPages : IPageAllocator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* AllocatePages(nuint pages) => (byte*)NativeMemory.AlignedAlloc(pages * IPageAllocator.PageSize, IPageAllocator.PageSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(byte* address, nuint pages) => NativeMemory.AlignedFree(address);

    public void Dispose() { }
}
