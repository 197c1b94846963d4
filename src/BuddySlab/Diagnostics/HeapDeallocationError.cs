namespace BuddySlab;

/// <summary>
/// Why <see cref="BuddyHeap.Deallocate"/> refused a pointer. The heap is left unchanged in every case.
/// </summary>
public enum HeapDeallocationError
{
    /// <summary>The pointer lies outside the heap (null included).</summary>
    ForeignPointer,

    /// <summary>The pointer lies inside a live block but is not its first byte.</summary>
    NotBlockStart,

    /// <summary>
    /// The pointer lies in free memory: a double free, or an address the heap never handed out.
    /// </summary>
    NotAllocated,

    /// <summary>
    /// A live block starts at the pointer, but the size and alignment given map to a different block size
    /// than the one it was allocated with.
    /// </summary>
    SizeMismatch,
}
