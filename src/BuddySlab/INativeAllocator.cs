namespace BuddySlab;

/// <summary>
/// A general-purpose native allocator: what the global allocator and the native heap offer.
/// Every pointer it returns stays put (it is native memory, not moved by the GC) until it is freed.
/// </summary>
public unsafe interface INativeAllocator
{
    /// <summary>The alignment <see cref="Allocate(nuint)"/> gives a block of <paramref name="size"/> bytes: 16 from 16 bytes
    /// on, 8 below. A sized free of such a block passes this as its alignment.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static nuint DefaultAlignment(nuint size) => size >= 16 ? (nuint)16 : 8;

    /// <summary>Allocates <paramref name="size"/> bytes, 16-byte aligned when <paramref name="size"/> is 16 or more, 8-byte aligned below.
    /// A zero size gives a unique, freeable pointer. Throws <see cref="AllocatorException"/> (<see cref="AllocError.NoMemory"/>) when out of memory.</summary>
    void* Allocate(nuint size);

    /// <summary>Allocates <paramref name="size"/> bytes aligned to <paramref name="alignment"/> (a power of two).</summary>
    void* Allocate(nuint size, nuint alignment);

    /// <summary>As <see cref="Allocate(nuint, nuint)"/>, but answers <see langword="false"/> (and null) when out of memory.
    /// Bad arguments still throw.</summary>
    bool TryAllocate(nuint size, nuint alignment, out void* pointer);

    /// <summary>Frees any live allocation. A pointer that is not one throws <see cref="AllocatorException"/>.</summary>
    void Free(void* pointer);

    /// <summary>Frees an allocation made with this <paramref name="size"/> and <paramref name="alignment"/>
    /// (after <c>Allocate(size)</c>: 16, or 8 for sizes below 16). Faster than <see cref="Free(void*)"/>.</summary>
    void Free(void* pointer, nuint size, nuint alignment);

    /// <summary>Resizes an allocation, in place when the new size fits the same block, else by moving it.
    /// A null pointer allocates.</summary>
    void* Reallocate(void* pointer, nuint newSize);

    /// <summary>The real capacity of the block at <paramref name="pointer"/>: at least the size it was allocated with.</summary>
    nuint UsableSize(void* pointer);
}
