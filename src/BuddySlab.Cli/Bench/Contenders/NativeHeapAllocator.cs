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

    // The rule of INativeAllocator.DefaultAlignment written out: calling it compiles the timed loops differently.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _heap.Free((void*)handle, size, size < 16 ? 8u : 16u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}
