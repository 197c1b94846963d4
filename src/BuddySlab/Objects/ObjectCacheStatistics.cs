namespace BuddySlab;

/// <summary>
/// A snapshot of an <see cref="ObjectCache{T}"/>. Always exact: the cache keeps these counts up to date
/// on every call. <c>Slabs = FullSlabs + PartialSlabs + (cached empty slab ? 1 : 0)</c> and
/// <c>AllocatedObjects + FreeObjects = Slabs * ObjectsPerSlab</c>.
/// </summary>
/// <param name="ObjectSize">Bytes between consecutive objects (the stride): <c>sizeof(T)</c>, at least 8,
/// rounded up to the object alignment.</param>
/// <param name="ObjectsPerSlab">Objects one slab holds.</param>
/// <param name="Slabs">Slabs currently held from the backend, including the cached empty one.</param>
/// <param name="FullSlabs">Slabs with every object allocated.</param>
/// <param name="PartialSlabs">Slabs with some, but not all, objects allocated.</param>
/// <param name="AllocatedObjects">Objects handed out and not yet freed.</param>
/// <param name="FreeObjects">Objects available in the held slabs without asking the backend.</param>
/// <param name="SlabBytes">Bytes of slab memory held: <c>Slabs * slabSize</c> (separately allocated
/// slab infos not included).</param>
public readonly record struct ObjectCacheStatistics(
    nuint ObjectSize,
    nuint ObjectsPerSlab,
    nuint Slabs,
    nuint FullSlabs,
    nuint PartialSlabs,
    nuint AllocatedObjects,
    nuint FreeObjects,
    nuint SlabBytes);
