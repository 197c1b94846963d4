namespace BuddySlab;

/// <summary>
/// Thrown by <see cref="BuddyHeap"/>. Exactly one of <see cref="HeapError"/>, <see cref="AllocationError"/> and
/// <see cref="DeallocationError"/> is set, according to what failed: creating the heap, sizing or allocating a
/// request, or giving a block back. The heap is unchanged by any call that throws.
/// </summary>
public sealed class BuddyHeapException : Exception
{
    /// <summary>Creates an exception for a heap that could not be created.</summary>
    public BuddyHeapException(HeapError error, string message) : base(message) => HeapError = error;

    /// <summary>Creates an exception for a request that could not be sized or satisfied.</summary>
    public BuddyHeapException(HeapAllocationError error, string message) : base(message) => AllocationError = error;

    /// <summary>Creates an exception for a pointer that could not be given back.</summary>
    public BuddyHeapException(HeapDeallocationError error, string message) : base(message) => DeallocationError = error;

    /// <summary>Set when the heap could not be created: which creation rule was broken.</summary>
    public HeapError? HeapError { get; }

    /// <summary>
    /// Set when a request was refused by <see cref="BuddyHeap.Allocate"/> or <see cref="BuddyHeap.AllocationSize"/>,
    /// and when <see cref="BuddyHeap.Deallocate"/> got a size and alignment no allocation can have had.
    /// </summary>
    public HeapAllocationError? AllocationError { get; }

    /// <summary>Set when <see cref="BuddyHeap.Deallocate"/> refused the pointer itself.</summary>
    public HeapDeallocationError? DeallocationError { get; }
}
