namespace BuddySlab;

/// <summary>Why a <see cref="BuddyHeap"/> request (or a size/alignment pair) was refused.</summary>
public enum HeapAllocationError
{
    /// <summary>The request is valid, but no free block of the needed size (or larger) is left.</summary>
    HeapExhausted,

    /// <summary>The alignment is not a power of two (zero included) or exceeds <see cref="BuddyHeap.MaxAlignment"/>.</summary>
    BadAlignment,

    /// <summary>The block the request needs is larger than the whole heap.</summary>
    TooLarge,
}
