using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

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

    // The rule of INativeAllocator.DefaultAlignment written out: calling it compiles the timed loops differently.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _heap.Free((void*)handle, size, size < 16 ? 8u : 16u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}
