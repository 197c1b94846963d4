namespace BuddySlab.Tests.Buddy;

/// <summary>Every kind of bad input gets its error, a message naming the value, and leaves the allocator as it was.</summary>
public unsafe class BuddyBadInputTests : IDisposable
{
    private const int Page = 4096;
    private readonly NativeRegion _region = new(1 << 20, 1 << 20);
    private readonly NativeRegion _other = new(1 << 20, Page);
    private readonly BuddyAllocator _buddy = new();
    private readonly nuint _run;

    public BuddyBadInputTests()
    {
        _buddy.Init(_region.Pointer, _region.Size);
        _run = _buddy.AllocatePages(3, Page);
    }

    public void Dispose()
    {
        _region.Dispose();
        _other.Dispose();
    }

    /// <summary>Runs <paramref name="call"/>, expects <paramref name="error"/>, and checks nothing changed.</summary>
    private void Rejects(AllocError error, Action call, string? messagePart = null)
    {
        var before = BuddyInspector.Snap(_buddy);
        var e = Assert.Throws<AllocatorException>(call);
        Assert.Equal(error, e.Error);
        if (messagePart is not null) Assert.Contains(messagePart, e.Message);
        Assert.Equal(before, BuddyInspector.Snap(_buddy));
        BuddyInspector.CheckInvariants(_buddy, [(_run, 3)]);
    }

    private static string Hex(nuint address) => $"0x{address:x}";

    [Fact]
    public void NullAndTooSmallRegionsAreInvalid()
    {
        Rejects(AllocError.InvalidParam, () => _buddy.AddRegion(null, 1 << 20), "null");
        Rejects(AllocError.InvalidParam, () => _buddy.AddRegion(_other.Pointer, 100), Hex(_other.Address));
        Rejects(AllocError.InvalidParam, () => _buddy.AddRegion(_other.Pointer, 0));
        Rejects(AllocError.InvalidParam, () => _buddy.AddRegion((void*)(nuint.MaxValue - 10), 4096), "wraps");
        var fresh = new BuddyAllocator();
        Assert.Equal(AllocError.InvalidParam, Assert.Throws<AllocatorException>(() => fresh.Init(null, 1 << 20)).Error);
        Assert.False(fresh.IsInitialized);
    }

    [Fact]
    public void OverlappingRegionsAreRejected()
    {
        Rejects(AllocError.MemoryOverlap, () => _buddy.AddRegion(_region.Pointer, _region.Size), Hex(_region.Address));
        Rejects(AllocError.MemoryOverlap, () => _buddy.AddRegion(_region.Pointer + 8192, 8192));
        Rejects(AllocError.MemoryOverlap, () => _buddy.AddRegion(_region.Pointer - 4096, 8192));
        Rejects(AllocError.MemoryOverlap, () => _buddy.AddRegion(_region.Pointer - 4096, _region.Size + 8192));
    }

    [Fact]
    public void InitTwiceIsRejected()
    {
        Rejects(AllocError.AlreadyInitialized, () => _buddy.Init(_other.Pointer, _other.Size));
    }

    [Fact]
    public void EveryUseBeforeInitIsRejected()
    {
        var fresh = new BuddyAllocator();
        void Expect(Action call) => Assert.Equal(AllocError.NotInitialized, Assert.Throws<AllocatorException>(call).Error);
        Expect(() => fresh.AllocatePages(1, Page));
        Expect(() => fresh.TryAllocatePages(1, Page, out _));
        Expect(() => fresh.AllocatePagesLowMem(1, Page));
        Expect(() => fresh.TryAllocatePagesLowMem(1, Page, out _));
        Expect(() => fresh.FreePages(_run, 3));
        Expect(() => fresh.AddRegion(_other.Pointer, _other.Size));
        Expect(() => fresh.GetPageFlags(_run));
        Expect(() => fresh.SetPageFlags(_run, PageFlags.Slab));
        Expect(() => fresh.GetSection(0));
        Assert.Equal(0, fresh.SectionCount);
        Assert.Equal((nuint)0, fresh.TotalPageCount);
        Assert.Equal((nuint)0, fresh.AllocatedBytes);
    }

    [Fact]
    public void BadCountsAndAlignmentsAreInvalidEvenForTheTryForms()
    {
        Rejects(AllocError.InvalidParam, () => _buddy.AllocatePages(0, Page), "count 0");
        Rejects(AllocError.InvalidParam, () => _buddy.TryAllocatePages(0, Page, out _));
        Rejects(AllocError.InvalidParam, () => _buddy.AllocatePages(nuint.MaxValue / 4096 + 1, Page), "overflow");
        Rejects(AllocError.InvalidParam, () => _buddy.AllocatePages(1, 3), "Alignment 3");
        Rejects(AllocError.InvalidParam, () => _buddy.AllocatePages(1, 0));
        Rejects(AllocError.InvalidParam, () => _buddy.TryAllocatePagesLowMem(1, 4096 + 4096 / 2, out _));
        Rejects(AllocError.InvalidParam, () => _buddy.FreePages(_run, 0));
    }

    [Fact]
    public void RequestsTooLargeAreOutOfMemoryAndTheTryFormsAnswerFalse()
    {
        Rejects(AllocError.NoMemory, () => _buddy.AllocatePages(1000, Page), "Out of memory");
        Rejects(AllocError.NoMemory, () => _buddy.AllocatePages(1, (nuint)1 << 40));
        Rejects(AllocError.NoMemory, () => _buddy.AllocatePagesLowMem(1, Page));
        var before = BuddyInspector.Snap(_buddy);
        Assert.False(_buddy.TryAllocatePages(1000, Page, out nuint address));
        Assert.Equal((nuint)0, address);
        Assert.False(_buddy.TryAllocatePages((nuint)1 << 40, Page, out _));
        Assert.Equal(before, BuddyInspector.Snap(_buddy));
    }

    [Fact]
    public void FreeingAnAddressOutsideEverySectionIsNotFound()
    {
        Rejects(AllocError.NotFound, () => _buddy.FreePages(_other.Address, 1), Hex(_other.Address));
        Rejects(AllocError.NotFound, () => _buddy.GetPageFlags(_other.Address));
        Rejects(AllocError.NotFound, () => _buddy.GetPageFlags(_region.Address + 8));  // the metadata prefix
    }

    [Fact]
    public void FreeingWhatIsNotALiveAllocationIsNotAllocated()
    {
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(_run + Page, 1), Hex(_run + Page));      // interior page
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(_run + 3 * Page, 1));                    // a free page
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(_run + 8, 3), Hex(_run + 8));            // misaligned
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(_region.Address, 1));                   // metadata prefix
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(_run, 4), "3 pages, not 4");             // wrong count
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(_run, 1));
        nuint single = _buddy.AllocatePages(1, Page);
        _buddy.FreePages(single, 1);
        Rejects(AllocError.NotAllocated, () => _buddy.FreePages(single, 1), Hex(single));               // double free
    }

    [Fact]
    public void PageFlagsCannotBeSetToFreeOrOnFreePages()
    {
        Rejects(AllocError.InvalidParam, () => _buddy.SetPageFlags(_run, PageFlags.Free));
        Rejects(AllocError.InvalidParam, () => _buddy.SetPageFlags(_run, (PageFlags)7));
        Rejects(AllocError.NotAllocated, () => _buddy.SetPageFlags(_run + 3 * Page, PageFlags.Slab));
        Rejects(AllocError.NotFound, () => _buddy.SetPageFlags(_other.Address, PageFlags.Slab));
        Rejects(AllocError.InvalidParam, () => _buddy.GetSection(1));
        Rejects(AllocError.InvalidParam, () => _buddy.GetSection(-1));
    }

    [Fact]
    public void BadPageSizesAreRejectedByTheConstructor()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BuddyAllocator(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BuddyAllocator(3000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BuddyAllocator(128));
        Assert.Equal(512, new BuddyAllocator(512).PageSize);
    }
}
