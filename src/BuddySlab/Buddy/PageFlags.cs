namespace BuddySlab;

/// <summary>The state of a managed page, as reported by <see cref="BuddyAllocator.GetPageFlags"/>.</summary>
public enum PageFlags : byte
{
    /// <summary>The page is in a free block.</summary>
    Free = 0,
    /// <summary>The page belongs to a live page allocation.</summary>
    Allocated = 1,
    /// <summary>The page belongs to a live page allocation that the slab layer uses as a slab.</summary>
    Slab = 2,
}
