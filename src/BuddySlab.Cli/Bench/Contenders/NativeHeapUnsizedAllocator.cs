using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// BuddySlab's <see cref="NativeHeap"/> freed the way a program ported from <c>free()</c> or <see cref="System.Runtime.InteropServices.NativeMemory.Free"/>
/// frees it: the unsized <see cref="NativeHeap.Free(void*)"/>, which finds the block's size from the heap's own records.
/// The same heap as <see cref="NativeHeapAllocator"/> (one per process, kept across repetitions), so the two columns
/// differ only in the free, and the drop-in form is measured in every workload the sized one runs.
/// </summary>
public readonly unsafe struct NativeHeapUnsizedAllocator : IBenchAllocator<nint>
{
    private readonly NativeHeap _heap;

    public NativeHeapUnsizedAllocator() => _heap = NativeHeapAllocator.SharedHeap;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size) => (nint)_heap.Allocate(size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => _heap.Free((void*)handle);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    /// <summary>Nothing to do: the heap outlives the repetition.</summary>
    public void Dispose() { }
}
