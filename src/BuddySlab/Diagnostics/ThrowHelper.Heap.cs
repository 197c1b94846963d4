using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab.Diagnostics;

// The throw sites of the buddy heap: its exceptions carry the heap's own error kinds as well as an AllocError. The
// heap passes its limits in, so the messages name them without this layer knowing the heap.
internal static partial class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void HeapCreation(HeapError error, nuint heapBase, nuint heapSize, int orders, int maxAlignment, int smallestBlock, int maxOrders) =>
        throw new BuddyHeapException(error, error switch
        {
            HeapError.BadBaseAlignment => $"Heap base 0x{heapBase:x} must be non-null and aligned to {maxAlignment} bytes.",
            HeapError.BadSizeAlignment => $"Heap size {heapSize} is not a power of two.",
            HeapError.BadHeapSize when orders < 1 => $"A heap needs at least one order; got {orders}.",
            HeapError.BadHeapSize => $"A heap of {heapSize} bytes at 0x{heapBase:x} would run past the end of the address space.",
            HeapError.MinBlockTooSmall => $"With {orders} orders the smallest block of a {heapSize}-byte heap is below {smallestBlock} bytes.",
            HeapError.TooManyOrders => $"{orders} orders exceed the limit of {maxOrders}.",
            _ => $"Invalid heap ({error}).",
        });

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void HeapAllocation(HeapAllocationError error, nuint size, nuint alignment, nuint heapSize, int maxAlignment) =>
        throw new BuddyHeapException(error, error switch
        {
            HeapAllocationError.BadAlignment => $"Alignment {alignment} is not a power of two of at most {maxAlignment}.",
            HeapAllocationError.TooLarge => $"A request of {size} bytes aligned to {alignment} needs a block larger than the {heapSize}-byte heap.",
            HeapAllocationError.HeapExhausted => $"No free block is left for {size} bytes aligned to {alignment}.",
            _ => $"Request refused ({error}).",
        });

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void HeapDeallocation(HeapDeallocationError error, nuint address, nuint size, nuint alignment) =>
        throw new BuddyHeapException(error, error switch
        {
            HeapDeallocationError.ForeignPointer => $"Address 0x{address:x} is outside the heap.",
            HeapDeallocationError.NotBlockStart => $"Address 0x{address:x} points inside a live block, not at its start.",
            HeapDeallocationError.NotAllocated => $"Address 0x{address:x} is in free memory: a double free or a pointer the heap never returned.",
            HeapDeallocationError.SizeMismatch => $"The live block at 0x{address:x} was not allocated with a size like {size} aligned to {alignment}.",
            _ => $"Address 0x{address:x} refused ({error}).",
        });
}
