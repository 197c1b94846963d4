namespace BuddySlab;

/// <summary>
/// Why a <see cref="BuddyHeap"/> could not be created. When several rules are broken the first one checked is
/// reported, in the reference's order: <see cref="BadBaseAlignment"/>, <see cref="BadHeapSize"/> (no orders),
/// <see cref="MinBlockTooSmall"/>, <see cref="BadSizeAlignment"/>, then <see cref="TooManyOrders"/> and
/// <see cref="BadHeapSize"/> (address-space overflow).
/// </summary>
public enum HeapError
{
    /// <summary>The base address is null or not aligned to <see cref="BuddyHeap.MaxAlignment"/> (4096) bytes.</summary>
    BadBaseAlignment,

    /// <summary>The heap size is not a power of two.</summary>
    BadSizeAlignment,

    /// <summary>
    /// There is no usable block size: <c>orders</c> is less than 1, or the heap would extend past the end of
    /// the address space.
    /// </summary>
    BadHeapSize,

    /// <summary>
    /// The smallest block, <c>heapSize &gt;&gt; (orders - 1)</c>, is smaller than
    /// <see cref="BuddyHeap.SmallestMinBlockSize"/> bytes (a free block must hold its list links). A shift of
    /// 64 bits or more counts as a minimum block of zero bytes.
    /// </summary>
    MinBlockTooSmall,

    /// <summary>
    /// <c>orders</c> exceeds <see cref="BuddyHeap.MaxOrders"/>. Only reachable for heaps of 32 GiB or more, where
    /// every other rule holds; block indices are 32-bit.
    /// </summary>
    TooManyOrders,
}
