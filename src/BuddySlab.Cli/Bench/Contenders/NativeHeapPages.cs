using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// Pages from BuddySlab's <see cref="NativeHeap"/> as a program would take them: <see cref="GlobalAllocator.AllocatePages"/>
/// and <see cref="GlobalAllocator.FreePages"/>, runs of up to 16 pages going through the per-CPU page caches. One heap per
/// process, kept across repetitions.
/// </summary>
public readonly unsafe struct NativeHeapPages : IPageAllocator
{
    private static NativeHeap? s_heap;
    private readonly GlobalAllocator _pages;

    public NativeHeapPages() => _pages = (s_heap ??= new NativeHeap()).Allocator;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* AllocatePages(nuint pages) => (byte*)_pages.AllocatePages(pages, IPageAllocator.PageSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(byte* address, nuint pages) => _pages.FreePages((nuint)address, pages);

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}
