namespace BuddySlab;

/// <summary>What went wrong in an allocator call. Carried by <see cref="AllocatorException"/>.</summary>
public enum AllocError
{
    /// <summary>An argument is out of range: a zero or overflowing count, a bad alignment, a null or too-small region.</summary>
    InvalidParam,
    /// <summary><c>Init</c> was called on an allocator that is already initialized.</summary>
    AlreadyInitialized,
    /// <summary>A region overlaps memory the allocator already manages.</summary>
    MemoryOverlap,
    /// <summary>No free block is large enough for the request.</summary>
    NoMemory,
    /// <summary>The address does not start a live allocation of that size (double free, interior or stale pointer, wrong size).</summary>
    NotAllocated,
    /// <summary>The allocator was used before <c>Init</c>, or after it was disposed.</summary>
    NotInitialized,
    /// <summary>The address lies outside every region the allocator manages.</summary>
    NotFound,
}
