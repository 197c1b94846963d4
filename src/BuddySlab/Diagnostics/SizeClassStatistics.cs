namespace BuddySlab;

/// <summary>
/// The slabs of one size class, summed over every CPU. Part of <see cref="HeapStatistics"/>.
/// <c>ObjectsInUse + FreeObjects + RemoteFrees = Slabs * ObjectsPerSlab</c> and <c>SlabBytes = Slabs * SlabPages *
/// PageSize</c>.
/// </summary>
/// <param name="ClassIndex">The class's position in the class table, from 0 (8 bytes).</param>
/// <param name="ObjectSize">Bytes per object.</param>
/// <param name="SlabPages">Pages per slab.</param>
/// <param name="ObjectsPerSlab">Objects one slab holds.</param>
/// <param name="Slabs">Slabs of the class, the cached empty ones included.</param>
/// <param name="ObjectsInUse">Objects taken out of the slabs: live ones, and those magazines and depots hold (which
/// <see cref="HeapStatistics.Caches"/> counts). After <c>Trim()</c>, exactly the live objects.</param>
/// <param name="FreeObjects">Objects free in their slab.</param>
/// <param name="RemoteFrees">Objects freed on another CPU than their slab's owner and not yet drained.</param>
/// <param name="SlabBytes">Bytes of the class's slabs, headers and unusable tails included.</param>
public readonly record struct SizeClassStatistics(
    int ClassIndex,
    int ObjectSize,
    int SlabPages,
    int ObjectsPerSlab,
    nuint Slabs,
    nuint ObjectsInUse,
    nuint FreeObjects,
    nuint RemoteFrees,
    nuint SlabBytes);
