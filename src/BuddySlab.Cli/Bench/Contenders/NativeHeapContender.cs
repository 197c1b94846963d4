using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// BuddySlab's <see cref="NativeHeap"/>: magazines, per-CPU slabs and buddy pages, freed with the sized form a
/// program that knows its sizes uses. One heap per process, kept across repetitions as glibc, mimalloc and
/// jemalloc keep theirs.
/// </summary>
public readonly unsafe struct NativeHeapAllocator : IBenchAllocator<nint>
{
    private static NativeHeap? s_heap;
    private readonly NativeHeap _heap;

    public NativeHeapAllocator() => _heap = SharedHeap;

    /// <summary>The one heap of this process's object contenders.</summary>
    public static NativeHeap SharedHeap => s_heap ??= new NativeHeap();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size) => (nint)_heap.Allocate(size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _heap.Free((void*)handle, size, size < 16 ? 8u : 16u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}

/// <summary>
/// BuddySlab's <see cref="NativeHeap"/> through the <see cref="ThreadHeap"/> of the thread that runs the workload: the
/// same heap and magazines, without the thread-static lookup per call. Bound to its thread, so it runs the
/// single-threaded workloads only (a threaded program takes one handle per thread).
/// </summary>
public readonly unsafe struct ThreadHeapAllocator : IBenchAllocator<nint>
{
    private readonly ThreadHeap _heap;

    public ThreadHeapAllocator() => _heap = NativeHeapAllocator.SharedHeap.ForCurrentThread();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size) => (nint)_heap.Allocate(size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _heap.Free((void*)handle, size, size < 16 ? 8u : 16u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}

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
