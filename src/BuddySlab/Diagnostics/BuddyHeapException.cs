namespace BuddySlab;

/// <summary>
/// Thrown by <see cref="BuddyHeap"/>. Exactly one of <see cref="HeapError"/>, <see cref="AllocationError"/> and
/// <see cref="DeallocationError"/> is set, according to what failed: creating the heap, sizing or allocating a
/// request, or giving a block back. The heap is unchanged by any call that throws.
/// <para>It is an <see cref="AllocatorException"/>, so code that handles every allocator's errors handles the heap's
/// too: <see cref="AllocatorException.Error"/> maps a bad heap or alignment to <see cref="AllocError.InvalidParam"/>,
/// a request that cannot be met to <see cref="AllocError.NoMemory"/>, a pointer outside the heap to
/// <see cref="AllocError.NotFound"/> and any other refused pointer to <see cref="AllocError.NotAllocated"/>.</para>
/// </summary>
public sealed class BuddyHeapException : AllocatorException
{
    /// <summary>Creates an exception for a heap that could not be created.</summary>
    public BuddyHeapException(HeapError error, string message) : base(AllocError.InvalidParam, message) => HeapError = error;

    /// <summary>Creates an exception for a request that could not be sized or satisfied.</summary>
    public BuddyHeapException(HeapAllocationError error, string message) : base(ErrorOf(error), message) => AllocationError = error;

    /// <summary>Creates an exception for a pointer that could not be given back.</summary>
    public BuddyHeapException(HeapDeallocationError error, string message) : base(ErrorOf(error), message) => DeallocationError = error;

    private static AllocError ErrorOf(HeapAllocationError error) =>
        error == HeapAllocationError.BadAlignment ? AllocError.InvalidParam : AllocError.NoMemory;

    private static AllocError ErrorOf(HeapDeallocationError error) =>
        error == HeapDeallocationError.ForeignPointer ? AllocError.NotFound : AllocError.NotAllocated;

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
