using System.Numerics;
using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Diagnostics;
using BuddySlab.Os;

namespace BuddySlab;

/// <summary>
/// A buddy page allocator over caller-provided memory regions.
/// <para>
/// Each region becomes a <i>section</i>: its own prefix holds the section header and one 12-byte record per
/// page, and the pages follow. No managed object grows with the regions' size; the allocator keeps only an
/// array of section pointers. Free blocks sit on per-order doubly linked lists, split on allocation and merge
/// with their buddies on free. Allocations are exact runs of pages: a 3-page request occupies 3 pages and the
/// rest of its 4-page block stays free.
/// </para>
/// <para>
/// Sections are searched first-fit in the order they were added. Every operation costs O(log of the section
/// size) plus O(log of the number of sections) to find the section of an address.
/// </para>
/// <para>
/// <b>Not thread-safe.</b> Callers serialise access (the global allocator holds a lock around it).
/// Bad input throws <see cref="AllocatorException"/> and leaves the allocator unchanged; the <c>Try</c> forms
/// return <see langword="false"/> only when memory runs out.
/// </para>
/// </summary>
public sealed unsafe class BuddyAllocator
{
    private readonly int _pageShift;
    private readonly IPlatform _platform;
    private SectionTable _table = SectionTable.Empty;   // replaced whole on AddRegion, so lock-free readers see a consistent one
    private bool _initialized;
    private nuint _totalPages;
    private nuint _freePages;

    /// <summary>Creates an allocator for pages of <paramref name="pageSize"/> bytes (a power of two, 256 bytes to 1 GiB).</summary>
    public BuddyAllocator(int pageSize = 4096, IPlatform? platform = null)
    {
        PageSizes.ThrowIfInvalidForBuddy(pageSize, nameof(pageSize));
        _pageShift = BitOperations.Log2((uint)pageSize);
        _platform = platform ?? HostPlatform.Instance;
    }

    /// <summary>The page size in bytes.</summary>
    public int PageSize => 1 << _pageShift;

    /// <summary>Bytes at the start of a page-aligned region of <paramref name="regionSize"/> bytes taken by its metadata
    /// (section header, page records, padding to the first page). For a region too small to hold any page, the prefix
    /// that one page would need.</summary>
    public static nuint RequiredMetadataSize(nuint regionSize, int pageSize = 4096)
    {
        PageSizes.ThrowIfNotPowerOfTwo(pageSize <= 0 ? 0 : (nuint)pageSize, nameof(pageSize));
        int shift = BitOperations.Log2((uint)pageSize);
        nuint start = (nuint)pageSize;   // any page-aligned address
        if (SectionLayout.TryCompute(start, regionSize, shift, out var layout))
            return layout.FirstPage - start;
        return AddressMath.AlignUp((nuint)(sizeof(BuddySection) + sizeof(PageRecord)), (nuint)pageSize);
    }

    /// <summary>Starts managing the first region. Throws <see cref="AllocError.AlreadyInitialized"/> if called twice.</summary>
    public void Init(void* region, nuint size)
    {
        if (_initialized)
            ThrowHelper.Throw(AllocError.AlreadyInitialized, "The buddy allocator is already initialized; use AddRegion for more memory.");
        AddSection(region, size);
        _initialized = true;
    }

    /// <summary>Adds another region; it must not overlap any managed region.</summary>
    public void AddRegion(void* region, nuint size)
    {
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        AddSection(region, size);
    }

    /// <summary><see cref="AddRegion(void*, nuint)"/> for a region known to read as zero when <paramref name="zeroed"/> (a
    /// fresh mapping): its page records are not cleared, so they cost nothing until used.</summary>
    internal void AddRegion(void* region, nuint size, bool zeroed)
    {
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        AddSection(region, size, nuint.MaxValue, zeroed);
    }

    /// <summary>True once <see cref="Init"/> has succeeded.</summary>
    public bool IsInitialized => _initialized;

    /// <summary>Number of managed regions.</summary>
    public int SectionCount => _table.Count;

    /// <summary>Pages under management, in all sections.</summary>
    public nuint TotalPageCount => _totalPages;

    /// <summary>Pages currently free, in all sections.</summary>
    public nuint FreePageCount => _freePages;

    /// <summary>Bytes of managed pages (metadata excluded).</summary>
    public nuint ManagedBytes => _totalPages << _pageShift;

    /// <summary>Bytes of pages currently allocated: <c>(TotalPageCount - FreePageCount) * PageSize</c>.</summary>
    public nuint AllocatedBytes => (_totalPages - _freePages) << _pageShift;

    /// <summary>A summary of section <paramref name="index"/>, in registration order.</summary>
    public ManagedSection GetSection(int index)
    {
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        SectionTable table = _table;
        if ((uint)index >= (uint)table.Count)
            ThrowHelper.Throw(AllocError.InvalidParam, $"Section index {index} is out of range: there are {table.Count} sections.");
        BuddySection* s = table.InOrder[index];
        return new ManagedSection(s->FirstPage, (nuint)s->Frontier << _pageShift, s->FreePages, s->Frontier);
    }

    /// <summary>Allocates <paramref name="count"/> contiguous pages whose address is a multiple of
    /// <paramref name="alignment"/> (a power of two; values below the page size mean page alignment).</summary>
    public nuint AllocatePages(nuint count, nuint alignment)
    {
        if (!TryAllocatePages(count, alignment, out nuint address)) ThrowHelper.NoMemory(count << _pageShift, alignment);
        return address;
    }

    /// <summary>As <see cref="AllocatePages"/>, but answers <see langword="false"/> (and zero) when no block is large enough.</summary>
    public bool TryAllocatePages(nuint count, nuint alignment, out nuint address) => TryAllocate(count, alignment, lowOnly: false, out address);

    /// <summary>Allocates pages whose whole physical range ends at or below 4 GiB (for 32-bit DMA), searching every section.</summary>
    public nuint AllocatePagesLowMem(nuint count, nuint alignment)
    {
        if (!TryAllocatePagesLowMem(count, alignment, out nuint address)) ThrowHelper.NoMemory(count << _pageShift, alignment);
        return address;
    }

    /// <summary>As <see cref="AllocatePagesLowMem"/>, but answers <see langword="false"/> (and zero) when no low block is large enough.</summary>
    public bool TryAllocatePagesLowMem(nuint count, nuint alignment, out nuint address) => TryAllocate(count, alignment, lowOnly: true, out address);

    /// <summary>Frees the <paramref name="count"/> pages allocated at <paramref name="address"/>; the count must be the allocation's.</summary>
    public void FreePages(nuint address, nuint count)
    {
        if (count == 0) ThrowHelper.InvalidCount(count);
        uint page = LiveRunOf(address, count, out BuddySection* s);
        s->Free(page);
        _freePages += count;
    }

    /// <summary>The state of the page holding <paramref name="address"/>: every page of a run reports the run's state.</summary>
    public PageFlags GetPageFlags(nuint address)
    {
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        BuddySection* s = SectionOf(address);
        uint head = s->FindRunHead(PageIndexOf(s, address));
        if (head == PageRecord.None) return PageFlags.Free;
        PageFlags flags = s->Records[head].Flags;
        return flags is RunStates.Cached or RunStates.PageRun or RunStates.Metadata ? PageFlags.Allocated : flags;
    }

    /// <summary>Marks the live run holding <paramref name="address"/> as <see cref="PageFlags.Allocated"/> or <see cref="PageFlags.Slab"/>.
    /// Pages become free only through <see cref="FreePages"/>.</summary>
    public void SetPageFlags(nuint address, PageFlags flags)
    {
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        if (flags is not (PageFlags.Allocated or PageFlags.Slab))
            ThrowHelper.Throw(AllocError.InvalidParam, $"Page flags {flags} cannot be set directly: only Allocated and Slab can; free pages with FreePages.");
        BuddySection* s = SectionOf(address);
        uint head = s->FindRunHead(PageIndexOf(s, address));
        if (head == PageRecord.None) ThrowHelper.NotAllocated(address, "is in a free page");
        s->Records[head].Flags = flags;
    }

    /// <summary>Finds the live run containing <paramref name="address"/>: its start, length and state. False when the
    /// address is outside every section or in a free page.</summary>
    internal bool TryFindRun(nuint address, out nuint start, out nuint pages, out PageFlags flags)
    {
        start = 0; pages = 0; flags = PageFlags.Free;
        BuddySection* s = FindSection(address);
        if (s == null || address < s->FirstPage || address >= s->EndOfPages) return false;
        uint head = s->FindRunHead((uint)((address - s->FirstPage) >> _pageShift));
        if (head == PageRecord.None) return false;
        ref PageRecord r = ref s->Records[head];
        start = s->FirstPage + ((nuint)head << _pageShift);
        pages = r.RunLength;
        flags = r.Flags;
        return true;
    }

    /// <summary>True when <paramref name="address"/> starts a live run marked <see cref="PageFlags.Slab"/>: one record read
    /// after the section lookup, safe without the caller's lock for a run that stays live meanwhile.</summary>
    internal bool IsSlabRunAt(nuint address)
    {
        BuddySection* s = FindSection(address);
        if (s == null || address < s->FirstPage || address >= s->EndOfPages) return false;
        nuint offset = address - s->FirstPage;
        if ((offset & (((nuint)1 << _pageShift) - 1)) != 0) return false;
        ref PageRecord r = ref s->Records[offset >> _pageShift];
        return r.IsRunHead && r.Flags == PageFlags.Slab;
    }

    /// <summary>The head record of the live run starting at <paramref name="address"/>, or null. Lock-free: the record of a
    /// run the caller holds cannot change under it, so its flags may be read and written without the buddy lock.</summary>
    internal PageRecord* RunHeadRecord(nuint address)
    {
        BuddySection* s = FindSection(address);
        if (s == null || address < s->FirstPage || address >= s->EndOfPages) return null;
        nuint offset = address - s->FirstPage;
        if ((offset & (((nuint)1 << _pageShift) - 1)) != 0) return null;
        PageRecord* r = s->Records + (offset >> _pageShift);
        return r->IsRunHead ? r : null;
    }

    /// <summary>Shortens the live run at <paramref name="address"/> (of <paramref name="count"/> pages) to
    /// <paramref name="newCount"/> pages, freeing the tail in place.</summary>
    internal void ShrinkPages(nuint address, nuint count, nuint newCount)
    {
        if (newCount == 0 || newCount > count) ThrowHelper.InvalidCount(newCount);
        uint page = LiveRunOf(address, count, out BuddySection* s);
        if (newCount == count) return;
        s->Shrink(page, (uint)newCount);
        _freePages += count - newCount;
    }

    private bool TryAllocate(nuint count, nuint alignment, bool lowOnly, out nuint address)
    {
        address = 0;
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        if (count == 0 || count > (nuint.MaxValue >> _pageShift)) ThrowHelper.InvalidCount(count);
        if (!BitOperations.IsPow2(alignment)) ThrowHelper.InvalidAlignment(alignment);

        int countOrder = count == 1 ? 0 : BitOperations.Log2((ulong)count - 1) + 1;
        int alignOrder = Math.Max(0, BitOperations.Log2((ulong)alignment) - _pageShift);
        int order = Math.Max(countOrder, alignOrder);
        if (order > FreeArea.MaxOrder) return false;

        SectionTable table = _table;
        for (int i = 0; i < table.Count; i++)
        {
            BuddySection* s = table.InOrder[i];
            uint page = s->Allocate((uint)count, order, lowOnly);
            if (page == PageRecord.None) continue;
            _freePages -= count;
            address = s->FirstPage + ((nuint)page << _pageShift);
            return true;
        }
        return false;
    }

    /// <summary>As <see cref="TryAllocatePages"/> (or its low-memory form), when no free block of the run's order is left:
    /// a spanning run over consecutive free blocks (see <see cref="BuddySection.AllocateSpanning"/>). It walks the sections'
    /// blocks, so callers try it last. False when no stretch of free pages can hold the run at its alignment.</summary>
    internal bool TryAllocateSpanning(nuint count, nuint alignment, bool lowOnly, out nuint address)
    {
        address = 0;
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        if (count < 2 || count > SectionLayout.MaxPages || !BitOperations.IsPow2(alignment)) return false;
        int countOrder = BitOperations.Log2((ulong)count - 1) + 1;
        int alignOrder = Math.Max(0, BitOperations.Log2((ulong)alignment) - _pageShift);
        int maxOrder = Math.Min(countOrder - 1, FreeArea.MaxOrder), minOrder = Math.Max(alignOrder, countOrder - 4);
        if (maxOrder < minOrder) return false;
        SectionTable table = _table;
        for (int i = 0; i < table.Count; i++)
        {
            BuddySection* s = table.InOrder[i];
            uint page = s->AllocateSpanning((uint)count, maxOrder, minOrder, lowOnly);
            if (page == PageRecord.None) continue;
            _freePages -= count;
            address = s->FirstPage + ((nuint)page << _pageShift);
            return true;
        }
        return false;
    }

    /// <summary>Starts managing a region that reads as zero (a fresh mapping) of which only the first
    /// <paramref name="managedBytes"/> (metadata included) are used for now; <see cref="GrowSection"/> uses more.
    /// Only the records of pages in use are ever touched.</summary>
    internal void InitReserved(void* region, nuint size, nuint managedBytes)
    {
        if (_initialized)
            ThrowHelper.Throw(AllocError.AlreadyInitialized, "The buddy allocator is already initialized; use AddRegion for more memory.");
        AddSection(region, size, managedBytes, zeroed: true);
        _initialized = true;
    }

    /// <summary>Moves section <paramref name="index"/>'s frontier up by at most <paramref name="pages"/> pages; answers how many it added.</summary>
    internal nuint GrowSection(int index, nuint pages)
    {
        BuddySection* s = _table.InOrder[index];
        uint added = (uint)Math.Min(pages, (nuint)(s->PageCount - s->Frontier));
        if (added == 0) return 0;
        s->Grow(s->Frontier + added);
        _totalPages += added;
        _freePages += added;
        return added;
    }

    /// <summary>Stops managing every section but the first whose pages are all free, and answers their regions
    /// (start, end), for the caller to give back. Lookups that take no lock never read a removed section.</summary>
    internal List<(nuint Start, nuint End)> RemoveFreeSections(Func<nuint, bool>? onlyIf = null)
    {
        var removed = new List<(nuint, nuint)>();
        SectionTable table = _table;
        for (int i = table.Count - 1; i >= 1; i--)
        {
            BuddySection* s = table.InOrder[i];
            if (s->FreePages != s->Frontier || (onlyIf is not null && !onlyIf(s->RegionStart))) continue;
            removed.Add((s->RegionStart, s->RegionEnd));
            _totalPages -= s->Frontier;
            _freePages -= s->Frontier;
            s->Magic = 0;
            table = table.Without(s);
        }
        Volatile.Write(ref _table, table);
        return removed;
    }

    /// <summary>The start of every region but the first whose pages are all free (candidates for release).</summary>
    internal void CollectFreeSections(HashSet<nuint> into)
    {
        into.Clear();
        SectionTable table = _table;
        for (int i = 1; i < table.Count; i++)
            if (table.InOrder[i]->FreePages == table.InOrder[i]->Frontier) into.Add(table.InOrder[i]->RegionStart);
    }

    /// <summary>Pages section <paramref name="index"/> could still grow by.</summary>
    internal nuint ReservedPagesLeft(int index) => _table.InOrder[index]->PageCount - _table.InOrder[index]->Frontier;

    /// <summary>One purge pass over the free blocks of <paramref name="minOrder"/> and up: a block this pass sees free for
    /// the first time is only marked; one the previous pass saw free already (free for at least the interval between
    /// passes) goes to <paramref name="discard"/>, once. With <paramref name="all"/>, every block not yet discarded goes
    /// (for Trim). O(free blocks of those orders).</summary>
    internal void DiscardLongFreeBlocks(int minOrder, Action<nuint, nuint> discard, bool all = false)
    {
        SectionTable table = _table;
        for (int i = 0; i < table.Count; i++)
        {
            BuddySection* s = table.InOrder[i];
            for (int zone = 0; zone < 2; zone++)
            {
                FreeArea* area = zone == 0 ? &s->Low : &s->High;
                for (int k = minOrder; k <= FreeArea.MaxOrder; k++)
                    for (uint p = area->Heads[k]; p != PageRecord.None; p = s->Records[p].Next)
                    {
                        ref PageRecord r = ref s->Records[p];
                        if (r.FreeAge == 0 && !all) { r.FreeAge = 1; continue; }
                        if (r.FreeAge == 2) continue;
                        discard(s->FirstPage + ((nuint)p << _pageShift), (nuint)1 << (k + _pageShift));
                        r.FreeAge = 2;
                    }
            }
        }
    }

    private void AddSection(void* region, nuint size) => AddSection(region, size, nuint.MaxValue, zeroed: false);

    private void AddSection(void* region, nuint size, nuint managedBytes, bool zeroed)
    {
        nuint start = (nuint)region;
        if (region == null) ThrowHelper.Throw(AllocError.InvalidParam, "The region is null.");
        nuint end = start + size;
        if (end < start) ThrowHelper.Throw(AllocError.InvalidParam, $"The region at 0x{start:x} of {size} bytes wraps around the address space.");
        SectionTable table = _table;
        for (int i = 0; i < table.Count; i++)
        {
            BuddySection* other = table.InOrder[i];
            if (start < other->RegionEnd && other->RegionStart < end)
                ThrowHelper.Throw(AllocError.MemoryOverlap,
                    $"The region [0x{start:x}, 0x{end:x}) overlaps the managed region [0x{other->RegionStart:x}, 0x{other->RegionEnd:x}).");
        }
        if (!SectionLayout.TryCompute(start, size, _pageShift, out var layout))
            ThrowHelper.Throw(AllocError.InvalidParam,
                $"The region at 0x{start:x} of {size} bytes is too small for one {PageSize}-byte page and its metadata.");

        nuint managedPages = managedBytes <= layout.FirstPage - start ? 1 : (managedBytes - (layout.FirstPage - start)) >> _pageShift;
        BuddySection* s = BuddySection.Create(layout, start, end, _pageShift, _platform,
            (uint)Math.Clamp(managedPages, 1, layout.PageCount), zeroed);
        Volatile.Write(ref _table, table.With(s));
        _totalPages += s->Frontier;
        _freePages += s->FreePages;
    }

    /// <summary>The section whose region contains <paramref name="address"/>, or null. Safe without the caller's lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal BuddySection* FindSection(nuint address) => Volatile.Read(ref _table).Find(address);

    private BuddySection* SectionOf(nuint address)
    {
        BuddySection* s = FindSection(address);
        if (s == null) ThrowHelper.NotFound(address);
        return s;
    }

    private uint PageIndexOf(BuddySection* s, nuint address)
    {
        if (address < s->FirstPage || address >= s->EndOfPages)
            ThrowHelper.Throw(AllocError.NotFound, $"Address 0x{address:x} is in a region's metadata or tail, not in a managed page.");
        return (uint)((address - s->FirstPage) >> _pageShift);
    }

    /// <summary>The page index and section of the live run of exactly <paramref name="count"/> pages that starts at
    /// <paramref name="address"/>; anything else throws.</summary>
    private uint LiveRunOf(nuint address, nuint count, out BuddySection* s)
    {
        if (!_initialized) ThrowHelper.NotInitialized("buddy allocator");
        s = SectionOf(address);
        uint page = RunHeadAt(s, address);
        uint length = s->Records[page].RunLength;
        if (length != count)
            ThrowHelper.NotAllocated(address, $"starts an allocation of {length} pages, not {count}");
        return page;
    }

    /// <summary>The page index of <paramref name="address"/>, which must start a live run.</summary>
    private uint RunHeadAt(BuddySection* s, nuint address)
    {
        nuint pageMask = ((nuint)1 << _pageShift) - 1;
        if (address < s->FirstPage || address >= s->EndOfPages || (address & pageMask) != 0)
            ThrowHelper.NotAllocated(address, "is not the start of a page in a managed section");
        uint page = (uint)((address - s->FirstPage) >> _pageShift);
        if (!s->Records[page].IsRunHead)
            ThrowHelper.NotAllocated(address, "does not start a live allocation (already freed, never allocated, or inside another allocation)");
        return page;
    }

    /// <summary>Section pointers in registration order, for inspection.</summary>
    internal BuddySection* SectionPointer(int index) => _table.InOrder[index];
}
