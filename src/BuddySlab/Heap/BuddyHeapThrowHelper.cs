using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab;

/// <summary>
/// Out-of-line throw sites of <see cref="BuddyHeap"/>: the messages are formatted only when thrown, so the
/// allocation and free paths stay small and allocate nothing.
/// </summary>
internal static class BuddyHeapThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Creation(HeapError error, nuint heapBase, nuint heapSize, int orders) =>
        throw new BuddyHeapException(error, error switch
        {
            HeapError.BadBaseAlignment => $"Heap base 0x{heapBase:x} must be non-null and aligned to {BuddyHeap.MaxAlignment} bytes.",
            HeapError.BadSizeAlignment => $"Heap size {heapSize} is not a power of two.",
            HeapError.BadHeapSize when orders < 1 => $"A heap needs at least one order; got {orders}.",
            HeapError.BadHeapSize => $"A heap of {heapSize} bytes at 0x{heapBase:x} would run past the end of the address space.",
            HeapError.MinBlockTooSmall => $"With {orders} orders the smallest block of a {heapSize}-byte heap is below {BuddyHeap.SmallestMinBlockSize} bytes.",
            HeapError.TooManyOrders => $"{orders} orders exceed the limit of {BuddyHeap.MaxOrders}.",
            _ => $"Invalid heap ({error}).",
        });

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Allocation(HeapAllocationError error, nuint size, nuint alignment, nuint heapSize) =>
        throw new BuddyHeapException(error, error switch
        {
            HeapAllocationError.BadAlignment => $"Alignment {alignment} is not a power of two of at most {BuddyHeap.MaxAlignment}.",
            HeapAllocationError.TooLarge => $"A request of {size} bytes aligned to {alignment} needs a block larger than the {heapSize}-byte heap.",
            HeapAllocationError.HeapExhausted => $"No free block is left for {size} bytes aligned to {alignment}.",
            _ => $"Request refused ({error}).",
        });

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Deallocation(HeapDeallocationError error, nuint address, nuint size, nuint alignment) =>
        throw new BuddyHeapException(error, error switch
        {
            HeapDeallocationError.ForeignPointer => $"Address 0x{address:x} is outside the heap.",
            HeapDeallocationError.NotBlockStart => $"Address 0x{address:x} points inside a live block, not at its start.",
            HeapDeallocationError.NotAllocated => $"Address 0x{address:x} is in free memory: a double free or a pointer the heap never returned.",
            HeapDeallocationError.SizeMismatch => $"The live block at 0x{address:x} was not allocated with a size like {size} aligned to {alignment}.",
            _ => $"Address 0x{address:x} refused ({error}).",
        });
}
