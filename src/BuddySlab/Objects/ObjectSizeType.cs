namespace BuddySlab;

/// <summary>
/// Where an <see cref="ObjectCache{T}"/> keeps the bookkeeping record (the slab info) of each slab.
/// </summary>
public enum ObjectSizeType
{
    /// <summary>
    /// The slab info lives inside the slab, after the last object. Nothing beyond the slab itself is
    /// allocated, at the price of the bytes the info occupies; suits objects much smaller than a slab.
    /// When the slab is exactly one page the cache finds the info by arithmetic and needs no side table.
    /// </summary>
    Small,

    /// <summary>
    /// The slab info is allocated separately through <see cref="ISlabMemoryBackend.AllocateSlabInfo"/>,
    /// so the whole slab holds objects; suits objects that are a sizeable fraction of a slab. Needs the
    /// backend's page-to-info side table.
    /// </summary>
    Large,
}
