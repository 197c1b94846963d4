namespace BuddySlab.Tests.Buddy;

/// <summary>Exact expectations for layout, splitting, merging, alignment, sections and statistics.</summary>
public unsafe class BuddyAllocatorTests
{
    private const int Page = 4096;
    private const nuint MiB = 1 << 20;

    /// <summary>A 4 MiB region on a 2 MiB boundary: 16 KiB of metadata, then 1020 pages carved as blocks of 4..512 pages.</summary>
    private static (NativeRegion Region, BuddyAllocator Buddy) FourMiB()
    {
        var region = new NativeRegion(4 * MiB, 2 * MiB);
        var buddy = new BuddyAllocator();
        buddy.Init(region.Pointer, region.Size);
        return (region, buddy);
    }

    /// <summary>A section of exactly 256 pages on a 1 MiB boundary: one block of order 8.</summary>
    private static (NativeRegion Region, BuddyAllocator Buddy, nuint First) OneBlockOf256()
    {
        var region = new NativeRegion(4 * MiB, MiB);
        nuint first = region.Address + MiB;
        var buddy = new BuddyAllocator();
        buddy.Init((void*)(first - Page), Page + 256 * Page);
        return (region, buddy, first);
    }

    [Fact]
    public void RegionPrefixHoldsHeaderAndRecordsAndPagesAreCarvedIntoLargestAlignedBlocks()
    {
        Assert.Equal((nuint)16384, BuddyAllocator.RequiredMetadataSize(4 * MiB));
        var (region, buddy) = FourMiB();
        using var owned = region;
        Assert.Equal(1, buddy.SectionCount);
        var s = buddy.GetSection(0);
        Assert.Equal(region.Address + 16384, s.Start);
        Assert.Equal((nuint)1020, s.TotalPageCount);
        Assert.Equal((nuint)1020, s.FreePageCount);
        Assert.Equal((nuint)1020 * Page, s.Size);
        Assert.Equal("2:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1", BuddyInspector.OrderHistogram(buddy, 0));
        Assert.Equal(region.Address + MiB * 2, BuddyInspector.FreeBlocks(buddy, 0).Single(b => b.Order == 9).Address);
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void SplitTakesTheSmallestBlockAndFreeMergesBackToTheInitialShape()
    {
        var (region, buddy) = FourMiB();
        using var owned = region;
        var initial = BuddyInspector.Snap(buddy);

        nuint a = buddy.AllocatePages(1, Page);
        Assert.Equal(region.Address + 16384, a);           // the order-2 block at page 4, split twice
        Assert.Equal("0:1 1:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1", BuddyInspector.OrderHistogram(buddy, 0));
        Assert.Equal((nuint)1019, buddy.FreePageCount);
        Assert.Equal((nuint)Page, buddy.AllocatedBytes);

        nuint b = buddy.AllocatePages(1, Page);
        Assert.Equal(a + Page, b);                          // the order-0 remainder is reused first
        buddy.FreePages(a, 1);
        buddy.FreePages(b, 1);
        Assert.Equal(initial, BuddyInspector.Snap(buddy));
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void ARunOfThreePagesOccupiesExactlyThreePages()
    {
        var (region, buddy) = FourMiB();
        using var owned = region;
        var initial = BuddyInspector.Snap(buddy);

        nuint run = buddy.AllocatePages(3, Page);
        Assert.Equal(region.Address + 16384, run);
        Assert.Equal((nuint)1017, buddy.FreePageCount);
        Assert.Equal((nuint)3 * Page, buddy.AllocatedBytes);
        Assert.Equal("0:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1", BuddyInspector.OrderHistogram(buddy, 0));
        BuddyInspector.CheckInvariants(buddy, [(run, 3)]);

        // The fourth page of the block is free for someone else.
        nuint single = buddy.AllocatePages(1, Page);
        Assert.Equal(run + 3 * Page, single);
        buddy.FreePages(single, 1);
        buddy.FreePages(run, 3);
        Assert.Equal(initial, BuddyInspector.Snap(buddy));
    }

    [Fact]
    public void EveryPageCanBeAllocatedAndFreeingInAnyOrderRestoresTheShape()
    {
        var (region, buddy) = FourMiB();
        using var owned = region;
        var initial = BuddyInspector.Snap(buddy);
        var pages = new List<nuint>();
        while (buddy.TryAllocatePages(1, Page, out nuint p)) pages.Add(p);
        Assert.Equal(1020, pages.Count);
        Assert.Equal(pages.Count, pages.Distinct().Count());
        Assert.Equal((nuint)0, buddy.FreePageCount);
        Assert.False(buddy.TryAllocatePages(1, Page, out nuint none));
        Assert.Equal((nuint)0, none);

        var rng = new Random(7);
        foreach (nuint p in pages.OrderBy(_ => rng.Next())) buddy.FreePages(p, 1);
        Assert.Equal(initial, BuddyInspector.Snap(buddy));
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void AlignmentIsHonouredOnTheAbsoluteAddressFromOnePageToOneGiB()
    {
        using var region = new NativeRegion(2 * 1024 * MiB + 16 * MiB, Page);
        var buddy = new BuddyAllocator();
        buddy.Init(region.Pointer, region.Size);
        var initial = BuddyInspector.Snap(buddy);
        for (int shift = 12; shift <= 30; shift++)
        {
            nuint alignment = (nuint)1 << shift;
            foreach (nuint count in new nuint[] { 1, 3, 5 })
            {
                nuint a = buddy.AllocatePages(count, alignment);
                Assert.Equal((nuint)0, a % alignment);
                Assert.InRange(a, region.Address, region.Address + region.Size - count * Page);
                *(long*)a = shift;                       // the pages are real, writable memory
                BuddyInspector.CheckInvariants(buddy, [(a, count)]);
                buddy.FreePages(a, count);
            }
        }
        Assert.Equal(initial, BuddyInspector.Snap(buddy));
    }

    [Fact]
    public void AlignmentBelowThePageSizeMeansPageAlignment()
    {
        var (region, buddy) = FourMiB();
        using var owned = region;
        foreach (nuint alignment in new nuint[] { 1, 2, 8, 64, 2048 })
        {
            nuint a = buddy.AllocatePages(1, alignment);
            Assert.Equal((nuint)0, a % Page);
            buddy.FreePages(a, 1);
        }
    }

    [Theory]
    [InlineData(1, 8192)]
    [InlineData(13, 1024 * 1024 + 777)]
    [InlineData(4095, 17 * 4096 + 5)]
    [InlineData(4099, 3 * 1024 * 1024 + 4001)]
    [InlineData(64, 5 * 1024 * 1024)]
    public void UnalignedStartsAndOddSizesManageOnlyWholePagesInsideTheRegion(int offset, int size)
    {
        using var region = new NativeRegion((nuint)(offset + size), Page);
        nuint start = region.Address + (nuint)offset, end = start + (nuint)size;
        var buddy = new BuddyAllocator();
        buddy.Init((void*)start, (nuint)size);
        var s = buddy.GetSection(0);
        Assert.Equal((nuint)0, s.Start % Page);
        nuint metadata = (nuint)(sizeof(BuddySlab.Buddy.BuddySection) + sizeof(BuddySlab.Buddy.PageRecord) * (int)s.TotalPageCount);
        Assert.True(s.Start >= start + metadata, "pages start after the metadata");
        Assert.True(s.Start + s.Size <= end, "pages end inside the region");
        Assert.True(s.TotalPageCount >= 1);
        // At most two pages lost to the page-aligned start, beyond the metadata itself.
        Assert.True((end - start) - s.Size - metadata < 2 * Page + 8, $"lost {(end - start) - s.Size - metadata} bytes");

        var taken = new List<nuint>();
        while (buddy.TryAllocatePages(1, Page, out nuint p))
        {
            Assert.InRange(p, s.Start, s.Start + s.Size - Page);
            *(byte*)p = 1;
            taken.Add(p);
        }
        Assert.Equal((int)s.TotalPageCount, taken.Count);
        BuddyInspector.CheckInvariants(buddy, taken.Select(p => (p, (nuint)1)));
        foreach (nuint p in taken) buddy.FreePages(p, 1);
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void TheSmallestRegionHoldsOnePagePlusOnePageOfMetadata()
    {
        using var region = new NativeRegion(3 * Page, Page);
        var tooSmall = new BuddyAllocator();
        var e = Assert.Throws<AllocatorException>(() => tooSmall.Init(region.Pointer, 2 * Page - 1));
        Assert.Equal(AllocError.InvalidParam, e.Error);
        Assert.False(tooSmall.IsInitialized);

        var buddy = new BuddyAllocator();
        buddy.Init(region.Pointer, 2 * Page);
        Assert.Equal((nuint)1, buddy.TotalPageCount);
        Assert.Equal(region.Address + Page, buddy.AllocatePages(1, Page));
    }

    [Fact]
    public void SectionsAreSearchedInRegistrationOrderAndHotAddedAtAnyTime()
    {
        using var high = new NativeRegion(4 * MiB, Page);
        using var low = new NativeRegion(4 * MiB, Page);
        using var third = new NativeRegion(16 * MiB, Page);
        var buddy = new BuddyAllocator();
        // Register the higher address first: first fit follows registration, not address order.
        var (first, second) = high.Address > low.Address ? (high, low) : (low, high);
        buddy.Init(first.Pointer, MiB);   // 255 pages: no block of 256
        nuint a = buddy.AllocatePages(1, Page);
        buddy.AddRegion(second.Pointer, second.Size);
        nuint b = buddy.AllocatePages(1, Page);
        Assert.InRange(a, first.Address, first.Address + MiB);
        Assert.InRange(b, first.Address, first.Address + MiB);

        // Larger than anything the first section has left: served by the second.
        nuint firstPages = buddy.GetSection(0).TotalPageCount;
        nuint big = buddy.AllocatePages(firstPages, Page);
        Assert.InRange(big, second.Address, second.Address + second.Size);

        buddy.AddRegion(third.Pointer, third.Size);
        Assert.Equal(3, buddy.SectionCount);
        nuint bigger = buddy.AllocatePages(1024, Page);   // more pages than the second section has
        Assert.InRange(bigger, third.Address, third.Address + third.Size);

        nuint total = 0, free = 0;
        for (int i = 0; i < 3; i++) { total += buddy.GetSection(i).TotalPageCount; free += buddy.GetSection(i).FreePageCount; }
        Assert.Equal(buddy.TotalPageCount, total);
        Assert.Equal(buddy.FreePageCount, free);
        Assert.Equal((nuint)(2 + 1024) + firstPages, total - free);
        BuddyInspector.CheckInvariants(buddy, [(a, 1), (b, 1), (big, firstPages), (bigger, 1024)]);

        buddy.FreePages(big, firstPages);
        buddy.FreePages(bigger, 1024);
        buddy.FreePages(a, 1);
        buddy.FreePages(b, 1);
        Assert.Equal(buddy.TotalPageCount, buddy.FreePageCount);
    }

    [Fact]
    public void FreeingEveryOtherPageFragmentsAndFreeingTheRestRestoresOneBlock()
    {
        var (region, buddy, first) = OneBlockOf256();
        using var owned = region;
        Assert.Equal("8:1", BuddyInspector.OrderHistogram(buddy, 0));
        var pages = new nuint[256];
        for (int i = 0; i < 256; i++) pages[i] = buddy.AllocatePages(1, Page);
        for (int i = 0; i < 256; i += 2) buddy.FreePages(pages[i], 1);
        Assert.Equal((nuint)128, buddy.FreePageCount);
        Assert.Equal("0:128", BuddyInspector.OrderHistogram(buddy, 0));
        Assert.False(buddy.TryAllocatePages(2, Page, out _));
        var e = Assert.Throws<AllocatorException>(() => buddy.AllocatePages(2, Page));
        Assert.Equal(AllocError.NoMemory, e.Error);

        for (int i = 1; i < 256; i += 2) buddy.FreePages(pages[i], 1);
        Assert.Equal("8:1", BuddyInspector.OrderHistogram(buddy, 0));
        Assert.Equal(first, buddy.AllocatePages(256, Page));
    }

    [Fact]
    public void StatisticsAreExactAfterEveryStep()
    {
        var (region, buddy, _) = OneBlockOf256();
        using var __ = region;
        void Expect(nuint allocatedPages)
        {
            Assert.Equal((nuint)256, buddy.TotalPageCount);
            Assert.Equal(256 - allocatedPages, buddy.FreePageCount);
            Assert.Equal(allocatedPages * Page, buddy.AllocatedBytes);
            Assert.Equal((nuint)256 * Page, buddy.ManagedBytes);
            Assert.Equal(buddy.FreePageCount, buddy.GetSection(0).FreePageCount);
        }
        Expect(0);
        nuint a = buddy.AllocatePages(5, Page); Expect(5);
        nuint b = buddy.AllocatePages(100, Page); Expect(105);
        nuint c = buddy.AllocatePages(1, 64 * Page); Expect(106);
        buddy.FreePages(b, 100); Expect(6);
        buddy.FreePages(a, 5); Expect(1);
        buddy.FreePages(c, 1); Expect(0);
        Assert.Equal("8:1", BuddyInspector.OrderHistogram(buddy, 0));
    }

    [Fact]
    public void AReservedSectionGrowsInPlaceAndNewPagesMergeWithFreeOnes()
    {
        using var region = new NativeRegion(8 * MiB, 2 * MiB, fill: 0);   // a zero-filled reservation, like a fresh mapping
        var buddy = new BuddyAllocator();
        nuint prefix = BuddyAllocator.RequiredMetadataSize(8 * MiB);
        buddy.InitReserved(region.Pointer, 8 * MiB, prefix + 64 * Page);
        Assert.Equal((nuint)64, buddy.TotalPageCount);
        var pages = Enumerable.Range(0, 64).Select(_ => buddy.AllocatePages(1, Page)).ToList();
        Assert.False(buddy.TryAllocatePages(1, Page, out _));            // nothing past the frontier is handed out

        Assert.Equal((nuint)100, buddy.GrowSection(0, 100));
        Assert.Equal((nuint)164, buddy.TotalPageCount);
        Assert.Equal((nuint)100, buddy.FreePageCount);
        BuddyInspector.CheckInvariants(buddy, pages.Select(p => (p, (nuint)1)));
        foreach (nuint p in pages) buddy.FreePages(p, 1);
        BuddyInspector.CheckInvariants(buddy);
        // Old and new pages merged exactly as if the section had been created with 164 pages.
        var direct = new BuddyAllocator();
        using (var twin = new NativeRegion(8 * MiB, 2 * MiB, fill: 0))
        {
            direct.InitReserved(twin.Pointer, 8 * MiB, prefix + 164 * Page);
            Assert.Equal(BuddyInspector.OrderHistogram(direct, 0), BuddyInspector.OrderHistogram(buddy, 0));
        }

        nuint left = buddy.ReservedPagesLeft(0);
        Assert.Equal(left, buddy.GrowSection(0, nuint.MaxValue >> 13));   // capped by the reservation
        Assert.Equal((nuint)0, buddy.GrowSection(0, 1));
        Assert.Equal(buddy.TotalPageCount, buddy.FreePageCount);
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void EntirelyFreeSectionsButTheFirstCanBeRemoved()
    {
        using var first = new NativeRegion(MiB);
        using var busy = new NativeRegion(MiB);
        using var idle = new NativeRegion(2 * MiB);
        var buddy = new BuddyAllocator();
        buddy.Init(first.Pointer, MiB);
        buddy.AddRegion(busy.Pointer, MiB);
        buddy.AddRegion(idle.Pointer, 2 * MiB);
        nuint firstPages = buddy.GetSection(0).TotalPageCount;
        nuint busyPages = buddy.GetSection(1).TotalPageCount;
        while (buddy.GetSection(1).FreePageCount == busyPages) buddy.AllocatePages(1, Page);   // until one lands in `busy`
        nuint live = buddy.TotalPageCount - buddy.FreePageCount;

        var removed = buddy.RemoveFreeSections();
        Assert.Equal([(idle.Address, idle.Address + 2 * MiB)], removed);
        Assert.Equal(2, buddy.SectionCount);
        Assert.Equal(firstPages + busyPages, buddy.TotalPageCount);
        Assert.Equal(live, buddy.TotalPageCount - buddy.FreePageCount);
        Assert.Equal(AllocError.NotFound, Assert.Throws<AllocatorException>(() => buddy.GetPageFlags(idle.Address + 64 * Page)).Error);
        BuddyInspector.CheckInvariants(buddy);
        Assert.Empty(buddy.RemoveFreeSections());                               // the first section always stays
        buddy.AddRegion(idle.Pointer, 2 * MiB);                                 // and the memory can come back
        Assert.Equal(3, buddy.SectionCount);
    }

    [Fact]
    public void PageFlagsDescribeTheWholeRunAndSlabMarksCanBeSet()
    {
        var (region, buddy) = FourMiB();
        using var owned = region;
        nuint run = buddy.AllocatePages(5, Page);
        for (int i = 0; i < 5; i++) Assert.Equal(PageFlags.Allocated, buddy.GetPageFlags(run + (nuint)(i * Page) + 17));
        Assert.Equal(PageFlags.Free, buddy.GetPageFlags(run + 5 * Page));
        buddy.SetPageFlags(run + 2 * Page, PageFlags.Slab);
        Assert.Equal(PageFlags.Slab, buddy.GetPageFlags(run));
        Assert.Equal(PageFlags.Slab, buddy.GetPageFlags(run + 4 * Page));
        buddy.FreePages(run, 5);
        Assert.Equal(PageFlags.Free, buddy.GetPageFlags(run));
        Assert.Equal(PageFlags.Free, buddy.GetPageFlags(run + 4 * Page));
        nuint again = buddy.AllocatePages(2, Page);
        Assert.Equal(PageFlags.Allocated, buddy.GetPageFlags(again));
    }

    [Fact]
    public void LowMemoryComesOnlyFromPagesThatEndBelowFourGiBInAnySection()
    {
        const ulong FourGiB = 1ul << 32;
        const nuint Size = 2 * MiB;
        using var allHigh = new NativeRegion(MiB, Page);
        using var mixed = new NativeRegion(Size, Page);
        nuint mixedFirst = mixed.Address + BuddyAllocator.RequiredMetadataSize(Size);
        // The first 100 pages of the mixed region map just below 4 GiB, the rest above; everything else is high.
        ulong Map(nuint v) => v >= mixed.Address && v < mixed.Address + Size
            ? FourGiB - 100 * Page + (ulong)(v - mixedFirst)
            : FourGiB + 0x1000_0000 + (ulong)v;
        var buddy = new BuddyAllocator(Page, new TestPlatform(map: Map));
        buddy.Init(allHigh.Pointer, allHigh.Size);
        buddy.AddRegion(mixed.Pointer, Size);

        // Normal allocations leave low memory alone while high memory lasts.
        nuint normal = buddy.AllocatePages(1, Page);
        Assert.True(Map(normal) >= FourGiB);

        var low = new List<nuint>();
        while (buddy.TryAllocatePagesLowMem(1, Page, out nuint p))
        {
            Assert.True(Map(p) + Page <= FourGiB, $"page 0x{p:x} ends above 4 GiB");
            low.Add(p);
        }
        Assert.Equal(100, low.Count);
        Assert.True(buddy.TryAllocatePages(1, Page, out _), "high memory remains for normal requests");
        var e = Assert.Throws<AllocatorException>(() => buddy.AllocatePagesLowMem(1, Page));
        Assert.Equal(AllocError.NoMemory, e.Error);

        // Freed low pages merge back and serve a larger low request.
        foreach (nuint p in low) buddy.FreePages(p, 1);
        nuint block = buddy.AllocatePagesLowMem(32, Page);   // 100 pages always hold an aligned 32-page block
        Assert.True(Map(block) + 32 * Page <= FourGiB);
        BuddyInspector.CheckInvariants(buddy);

        // Within one section, normal requests take the high zone first.
        var alone = new BuddyAllocator(Page, new TestPlatform(map: Map));
        alone.Init(mixed.Pointer, Size);
        for (int i = 0; i < 10; i++) Assert.True(Map(alone.AllocatePages(1, Page)) >= FourGiB);
        Assert.True(Map(alone.AllocatePagesLowMem(1, Page)) < FourGiB);
    }

    [Fact]
    public void AFreeListHandsOutTheBlockFreeTheLongestFirst()
    {
        var (region, buddy, first) = OneBlockOf256();
        using var owned = region;
        var pages = new nuint[8];
        for (int i = 0; i < 8; i++) pages[i] = buddy.AllocatePages(1, Page);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => first + (nuint)i * Page), pages);
        // Their buddies stay live, so the three freed pages wait on the order-0 list, in the order they were freed.
        buddy.FreePages(pages[5], 1);
        buddy.FreePages(pages[1], 1);
        buddy.FreePages(pages[3], 1);
        BuddyInspector.CheckInvariants(buddy);
        Assert.Equal(pages[5], buddy.AllocatePages(1, Page));
        buddy.FreePages(pages[5], 1);                              // back in at the tail: after 1 and 3
        Assert.Equal(pages[1], buddy.AllocatePages(1, Page));
        Assert.Equal(pages[3], buddy.AllocatePages(1, Page));
        Assert.Equal(pages[5], buddy.AllocatePages(1, Page));
        Assert.Equal(first + 8 * Page, buddy.AllocatePages(1, Page));   // the list is empty: the order-3 block splits
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void FreeingARunWhoseTailIsStillFreeReformsItsBlockAndMergesOn()
    {
        var (region, buddy, first) = OneBlockOf256();
        using var owned = region;
        nuint run = buddy.AllocatePages(13, Page);
        Assert.Equal(first, run);
        Assert.Equal($"{first + 13 * Page:x}:0 {first + 14 * Page:x}:1 {first + 16 * Page:x}:4 {first + 32 * Page:x}:5 {first + 64 * Page:x}:6 {first + 128 * Page:x}:7",
            string.Join(' ', BuddyInspector.FreeBlocks(buddy, 0).Select(b => $"{b.Address:x}:{b.Order}")));
        buddy.FreePages(run, 13);
        Assert.Equal("8:1", BuddyInspector.OrderHistogram(buddy, 0));
        BuddyInspector.CheckInvariants(buddy);
    }

    [Fact]
    public void FreeingARunWhoseTailIsPartlyInUseLeavesTheRunAsAlignedFreeBlocks()
    {
        var (region, buddy, first) = OneBlockOf256();
        using var owned = region;
        nuint run = buddy.AllocatePages(13, Page);
        nuint one = buddy.AllocatePages(1, Page);                  // the tail's single page
        Assert.Equal(first + 13 * Page, one);
        buddy.FreePages(run, 13);
        var low = BuddyInspector.FreeBlocks(buddy, 0).Where(b => b.Address < first + 16 * Page).Select(b => $"{(b.Address - first) / Page}:{b.Order}");
        Assert.Equal("0:3 8:2 12:0 14:1", string.Join(' ', low));
        BuddyInspector.CheckInvariants(buddy, [(one, 1)]);
        buddy.FreePages(one, 1);
        Assert.Equal("8:1", BuddyInspector.OrderHistogram(buddy, 0));
        BuddyInspector.CheckInvariants(buddy);
    }
}
