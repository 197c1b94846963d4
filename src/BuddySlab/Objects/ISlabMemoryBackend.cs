namespace BuddySlab;

/// <summary>
/// Where an <see cref="ObjectCache{T}"/> gets its memory from, and the side table it uses to find a slab
/// from an object address. Which members a cache calls depends on its configuration:
/// <list type="bullet">
/// <item><description><see cref="ObjectSizeType.Small"/> with slab size equal to page size: only
/// <see cref="AllocateSlab"/> and <see cref="FreeSlab"/>.</description></item>
/// <item><description><see cref="ObjectSizeType.Small"/> with slabs of several pages: also
/// <see cref="SaveSlabInfo"/>, <see cref="GetSlabInfo"/> and <see cref="DeleteSlabInfo"/>.</description></item>
/// <item><description><see cref="ObjectSizeType.Large"/>: also <see cref="AllocateSlabInfo"/> and
/// <see cref="FreeSlabInfo"/>.</description></item>
/// </list>
/// <para><b>Sharing.</b> A backend may serve several caches at once; each cache recognises its own slab infos.</para>
/// <para><b>Threading.</b> The cache calls its backend from one thread at a time, but two caches sharing a backend may
/// call it concurrently if they are used from different threads.</para>
/// </summary>
public unsafe interface ISlabMemoryBackend
{
    /// <summary>Returns <paramref name="slabSize"/> bytes (a positive multiple of <paramref name="pageSize"/>) whose
    /// start is aligned to <paramref name="pageSize"/> (a power of two), or null when no memory is available. The
    /// contents need not be initialised.</summary>
    void* AllocateSlab(nuint slabSize, nuint pageSize);

    /// <summary>Takes back <paramref name="slab"/>, returned by <see cref="AllocateSlab"/> with the same
    /// <paramref name="slabSize"/> and <paramref name="pageSize"/>.</summary>
    void FreeSlab(void* slab, nuint slabSize, nuint pageSize);

    /// <summary>Returns <paramref name="infoSize"/> bytes aligned to at least 8 for one slab info, or null when no
    /// memory is available. Called only by <see cref="ObjectSizeType.Large"/> caches.</summary>
    void* AllocateSlabInfo(nuint infoSize);

    /// <summary>Takes back <paramref name="slabInfo"/>, returned by <see cref="AllocateSlabInfo"/> with the same
    /// <paramref name="infoSize"/>.</summary>
    void FreeSlabInfo(void* slabInfo, nuint infoSize);

    /// <summary>Remembers that the page starting at <paramref name="objectPageAddress"/> belongs to the slab whose info
    /// is <paramref name="slabInfo"/>, replacing any earlier entry. Called once for every page of a new slab when the
    /// slab spans several pages or the cache is <see cref="ObjectSizeType.Large"/>.</summary>
    void SaveSlabInfo(nuint objectPageAddress, void* slabInfo);

    /// <summary>Returns the slab info last saved for the page starting at <paramref name="objectPageAddress"/>, or null
    /// when none is saved (the cache then reports the address as foreign). Called on every
    /// <see cref="ObjectCache{T}.Free"/> in the configurations that save infos, so it should be fast.</summary>
    void* GetSlabInfo(nuint objectPageAddress);

    /// <summary>Forgets the entry for the page starting at <paramref name="objectPageAddress"/>. Called once for every
    /// page of a slab, before that slab is freed.</summary>
    void DeleteSlabInfo(nuint objectPageAddress);
}
