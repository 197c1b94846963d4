using System.Runtime.InteropServices;
using BuddySlab.Os;

namespace BuddySlab.Objects;

/// <summary>
/// An <see cref="ISlabMemoryBackend"/> over any page allocator given as two delegates, with its own page-to-info side
/// table (a <see cref="PageMap"/>) and slab infos from <see cref="NativeMemory"/>. It is what the parameterless
/// <see cref="ObjectCache{T}"/> constructor builds over the shared native heap's pages (<see cref="Over"/>). The
/// delegates run only when a slab is obtained or returned; the side-table lookup on every free allocates nothing.
/// <para><b>Errors.</b> A slab or page size that does not match the backend's page size throws
/// <see cref="ArgumentOutOfRangeException"/>.</para>
/// <para><b>Threading.</b> Not thread-safe.</para>
/// </summary>
internal sealed unsafe class PageSlabBackend : ISlabMemoryBackend
{
    private readonly nuint _pageSize;
    private readonly Func<nuint, nint> _allocatePages;
    private readonly Action<nint, nuint> _freePages;
    private readonly PageMap _slabInfos;

    /// <summary>Creates a backend handing out runs of pages of <paramref name="pageSize"/> bytes, the page size of the
    /// page allocator: a power of two, which caches over this backend must use. <paramref name="allocatePages"/>, given
    /// a page count, returns the address of that many contiguous pages aligned to <paramref name="pageSize"/>, or 0
    /// when out of memory; <paramref name="freePages"/>, given an address from <paramref name="allocatePages"/> and the
    /// same count, frees the pages.</summary>
    public PageSlabBackend(nuint pageSize, Func<nuint, nint> allocatePages, Action<nint, nuint> freePages)
    {
        PageSizes.ThrowIfNotPowerOfTwo(pageSize, nameof(pageSize));
        ArgumentNullException.ThrowIfNull(allocatePages);
        ArgumentNullException.ThrowIfNull(freePages);
        _pageSize = pageSize;
        _allocatePages = allocatePages;
        _freePages = freePages;
        _slabInfos = new PageMap(pageSize);
    }

    /// <summary>A backend over <paramref name="pages"/>' page API (<see cref="GlobalAllocator.TryAllocatePages"/> and
    /// <see cref="GlobalAllocator.FreePages"/>), for caches of the default page size.</summary>
    public static PageSlabBackend Over(GlobalAllocator pages)
    {
        nuint pageSize = ObjectCacheLayout.DefaultPageSize;
        return new PageSlabBackend(
            pageSize,
            count => pages.TryAllocatePages(count, pageSize, out nuint address) ? (nint)address : 0,
            (address, count) => pages.FreePages((nuint)address, count));
    }

    /// <summary>Number of pages that currently have a slab info saved.</summary>
    public int SavedPages => _slabInfos.Count;

    /// <inheritdoc />
    public void* AllocateSlab(nuint slabSize, nuint pageSize) =>
        (void*)_allocatePages(PageCount(slabSize, pageSize));

    /// <inheritdoc />
    public void FreeSlab(void* slab, nuint slabSize, nuint pageSize) =>
        _freePages((nint)slab, PageCount(slabSize, pageSize));

    /// <inheritdoc />
    public void* AllocateSlabInfo(nuint infoSize) => NativeMemory.AlignedAlloc(infoSize, (nuint)sizeof(ulong));

    /// <inheritdoc />
    public void FreeSlabInfo(void* slabInfo, nuint infoSize) => NativeMemory.AlignedFree(slabInfo);

    /// <inheritdoc />
    public void SaveSlabInfo(nuint objectPageAddress, void* slabInfo) =>
        _slabInfos.Set(objectPageAddress, (nint)slabInfo);

    /// <inheritdoc />
    public void* GetSlabInfo(nuint objectPageAddress) => (void*)_slabInfos.Get(objectPageAddress);

    /// <inheritdoc />
    public void DeleteSlabInfo(nuint objectPageAddress) => _slabInfos.Remove(objectPageAddress);

    /// <summary>The pages in a slab of <paramref name="slabSize"/> bytes, after checking both sizes against this
    /// backend's.</summary>
    private nuint PageCount(nuint slabSize, nuint pageSize)
    {
        if (pageSize != _pageSize)
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize,
                $"Page size {pageSize} differs from this backend's page size {_pageSize}.");
        ObjectCacheLayout.ThrowIfNotPageMultiple(slabSize, pageSize);
        return slabSize / pageSize;
    }
}
