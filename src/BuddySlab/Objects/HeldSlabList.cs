namespace BuddySlab.Objects;

/// <summary>
/// Every slab a cache holds (full, partial and the cached empty one), doubly linked through
/// <see cref="SlabInfo.PreviousHeld"/> and <see cref="SlabInfo.NextHeld"/>. Touched only when a slab is
/// obtained or returned, so that dispose can find full slabs, which sit in no bucket.
/// </summary>
internal unsafe struct HeldSlabList
{
    /// <summary>The most recently added slab, or null.</summary>
    public SlabInfo* First;

    /// <summary>Links <paramref name="slab"/> in first.</summary>
    public void Add(SlabInfo* slab)
    {
        slab->PreviousHeld = null;
        slab->NextHeld = First;
        if (First != null)
            First->PreviousHeld = slab;
        First = slab;
    }

    /// <summary>Unlinks <paramref name="slab"/>, which must be in the list.</summary>
    public void Remove(SlabInfo* slab)
    {
        if (slab->PreviousHeld != null)
            slab->PreviousHeld->NextHeld = slab->NextHeld;
        else
            First = slab->NextHeld;
        if (slab->NextHeld != null)
            slab->NextHeld->PreviousHeld = slab->PreviousHeld;
        slab->PreviousHeld = null;
        slab->NextHeld = null;
    }
}
