namespace BuddySlab;

/// <summary>What a <see cref="SlabAllocator"/> allocation answered.</summary>
public enum SlabAllocStatus
{
    /// <summary><see cref="SlabAllocResult.Address"/> is the new object.</summary>
    Allocated,
    /// <summary>The class has no free object: add a slab of <see cref="SlabAllocResult.Pages"/> pages, aligned to its size, and retry.</summary>
    NeedsSlab,
}

/// <summary>The answer to <see cref="SlabAllocator.Allocate"/>: an object, or a request for a slab.</summary>
/// <param name="Status">Which of the two it is.</param>
/// <param name="Address">The object, when <see cref="SlabAllocStatus.Allocated"/>.</param>
/// <param name="SizeClass">The class of the request.</param>
/// <param name="Pages">Pages of the slab to add, when <see cref="SlabAllocStatus.NeedsSlab"/>.</param>
public readonly record struct SlabAllocResult(SlabAllocStatus Status, nuint Address, SizeClass SizeClass, nuint Pages);

/// <summary>What a <see cref="SlabAllocator"/> free answered.</summary>
public enum SlabFreeStatus
{
    /// <summary>Nothing more to do.</summary>
    Done,
    /// <summary>A slab became empty and is no longer used: return its pages (<see cref="SlabFreeResult.SlabAddress"/>,
    /// <see cref="SlabFreeResult.Pages"/>) to the page allocator.</summary>
    FreeSlab,
}

/// <summary>The answer to <see cref="SlabAllocator.Free(void*, nuint, nuint)"/>.</summary>
/// <param name="Status">Whether a slab must be returned.</param>
/// <param name="SlabAddress">The slab to return, when <see cref="SlabFreeStatus.FreeSlab"/>.</param>
/// <param name="Pages">Its pages.</param>
public readonly record struct SlabFreeResult(SlabFreeStatus Status, nuint SlabAddress, nuint Pages);
