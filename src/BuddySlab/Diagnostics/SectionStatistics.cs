namespace BuddySlab;

/// <summary>
/// One managed region's pages and its free blocks by order: the fragmentation picture. A free block of order <c>k</c>
/// is <c>2^k</c> pages starting at a multiple of <c>2^k</c> pages, and free blocks are always merged as far as their
/// buddies allow, so many small blocks and no large one mean free memory scattered between live runs. Part of
/// <see cref="HeapStatistics"/>.
/// </summary>
public sealed class SectionStatistics
{
    private readonly nuint[] _freeBlocks;
    private readonly IReadOnlyList<nuint> _freeBlocksView;

    internal SectionStatistics(int index, nuint start, nuint pageCount, nuint freePageCount, nuint[] freeBlocksByOrder)
    {
        Index = index;
        Start = start;
        PageCount = pageCount;
        FreePageCount = freePageCount;
        _freeBlocks = freeBlocksByOrder;
        _freeBlocksView = Array.AsReadOnly(freeBlocksByOrder);
    }

    /// <summary>The section's position, in the order its region was added.</summary>
    public int Index { get; }

    /// <summary>Address of the first managed page (after the region's metadata).</summary>
    public nuint Start { get; }

    /// <summary>Pages the section manages.</summary>
    public nuint PageCount { get; }

    /// <summary>Pages free in the section: the sum over orders of <c>FreeBlocksByOrder[k] * 2^k</c>.</summary>
    public nuint FreePageCount { get; }

    /// <summary>Free blocks per order: element <c>k</c> counts the free blocks of <c>2^k</c> pages. One element per order
    /// the allocator knows (32), most of them 0.</summary>
    public IReadOnlyList<nuint> FreeBlocksByOrder => _freeBlocksView;

    /// <summary>The order of the largest free block, or -1 when no page is free: the largest run of pages the section
    /// can still serve from one block, <c>2^order</c> pages.</summary>
    public int LargestFreeOrder
    {
        get
        {
            for (int k = _freeBlocks.Length - 1; k >= 0; k--)
                if (_freeBlocks[k] != 0) return k;
            return -1;
        }
    }
}
