namespace BuddySlab.Tests.Allocator;

public unsafe class GlobalAllocatorTests : IDisposable
{
    private const int Page = 4096;
    private readonly GlobalHarness _h = new();
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void EveryClassSizeIsServedFromSlabsWithItsUsableSize()
    {
        var blocks = new List<nint>();
        foreach (var c in SizeClass.All())
        {
            // Whole pages above 2 KiB take page runs: the 4096- and 8192-byte classes serve the two sizes below them.
            nuint top = (nuint)c.ObjectSize - (nuint)(c.ObjectSize > 2048 && c.ObjectSize % 4096 == 0 ? 1 : 0);
            foreach (nuint size in new[] { top, top - 1 })
            {
                byte* p = (byte*)A.Allocate(size);
                Assert.Equal((nuint)0, (nuint)p % (size >= 16 ? 16u : 8u));
                Assert.Equal((nuint)c.ObjectSize, A.UsableSize(p));
                Assert.Equal(PageFlags.Slab, A.Buddy.GetPageFlags((nuint)p));
                new Span<byte>(p, c.ObjectSize).Fill(0x5A);
                blocks.Add((nint)p);
            }
        }
        foreach (nint p in blocks) A.Free((void*)p);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void AlignmentsFromOneTo8192AreHonouredForSmallAndLargeSizes()
    {
        var blocks = new List<(nint P, nuint Size, nuint Alignment)>();
        for (int shift = 0; shift <= 13; shift++)
        {
            nuint alignment = (nuint)1 << shift;
            foreach (nuint size in new nuint[] { 1, 24, 100, 2048, 3000, 5000, 70000 })
            {
                void* p = A.Allocate(size, alignment);
                Assert.Equal((nuint)0, (nuint)p % alignment);
                Assert.True(A.UsableSize(p) >= size);
                new Span<byte>(p, (int)size).Fill(1);
                blocks.Add(((nint)p, size, alignment));
            }
        }
        // Half with the sized form, half without.
        for (int i = 0; i < blocks.Count; i++)
        {
            var (p, size, alignment) = blocks[i];
            if (i % 2 == 0) A.Free((void*)p, size, alignment);
            else A.Free((void*)p);
        }
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ZeroSizeGivesUniqueFreeablePointers()
    {
        var ptrs = Enumerable.Range(0, 100).Select(_ => (nint)A.Allocate(0)).ToList();
        Assert.Equal(100, ptrs.Distinct().Count());
        Assert.All(ptrs, p => Assert.NotEqual(0, p));
        Assert.Equal((nuint)8, A.UsableSize((void*)ptrs[0]));
        A.Free((void*)ptrs[0], 0, 8);
        foreach (nint p in ptrs.Skip(1)) A.Free((void*)p);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void LargeRequestsTakeExactPageRuns()
    {
        nuint before = A.AllocatedBytes;
        void* p = A.Allocate(3 * Page + 1);
        Assert.Equal((nuint)0, (nuint)p % Page);
        Assert.Equal((nuint)4 * Page, A.UsableSize(p));
        Assert.Equal(before + 4 * Page, A.AllocatedBytes);
        void* q = A.Allocate(4096);                       // a whole page above 2 KiB: a page run, not the 4096-byte class
        Assert.Equal((nuint)Page, A.UsableSize(q));
        A.Free(p, 3 * Page + 1, 16);
        A.Free(q);
        Assert.Equal(before + 5 * Page, A.AllocatedBytes);     // small runs wait in the CPU's page cache...
        A.Trim();
        Assert.Equal(before, A.AllocatedBytes);                 // ...until Trim
    }

    [Fact]
    public void SmallPageRunsWaitInTheCpuCacheAndASecondFreeOfOneIsRefused()
    {
        void* p = A.Allocate(3 * Page);
        A.Free(p);
        Assert.Equal(PageFlags.Allocated, A.Buddy.GetPageFlags((nuint)p));     // still the buddy's: parked, not free
        void Refused(Action free) => Assert.Equal(AllocError.NotAllocated, Assert.Throws<AllocatorException>(free).Error);
        Refused(() => A.Free(p));
        Refused(() => A.Free(p, 3 * Page, 16));
        Refused(() => A.FreePages((nuint)p, 3));
        Refused(() => A.UsableSize(p));
        void* q = A.Allocate(3 * Page - 100);
        Assert.Equal((nint)p, (nint)q);                                         // the cached run comes back
        A.Free(q);
        A.Trim();
        Assert.Equal((nuint)0, A.AllocatedBytes);
        Assert.Equal(PageFlags.Free, A.Buddy.GetPageFlags((nuint)p));
    }

    [Fact]
    public void ReallocateKeepsThePointerWithinAClassAndAPageRun()
    {
        byte* p = (byte*)A.Allocate(40);                // class 48
        for (int i = 0; i < 40; i++) p[i] = (byte)i;
        Assert.Equal((nint)p, (nint)A.Reallocate(p, 48));
        Assert.Equal((nint)p, (nint)A.Reallocate(p, 33));

        byte* moved = (byte*)A.Reallocate(p, 500);      // another class: moved, contents kept
        Assert.NotEqual((nint)p, (nint)moved);
        for (int i = 0; i < 40; i++) Assert.Equal((byte)i, moved[i]);
        Assert.Throws<AllocatorException>(() => A.Free(p));   // the old block is gone

        byte* run = (byte*)A.Reallocate(moved, 10 * Page);    // to pages
        for (int i = 0; i < 40; i++) Assert.Equal((byte)i, run[i]);
        Assert.Equal((nuint)10 * Page, A.UsableSize(run));
        nuint allocated = A.AllocatedBytes;

        Assert.Equal((nint)run, (nint)A.Reallocate(run, 3 * Page));   // shrinking frees the tail in place
        Assert.Equal((nuint)3 * Page, A.UsableSize(run));
        Assert.Equal(allocated - 7 * Page, A.AllocatedBytes);
        Assert.Equal((nint)run, (nint)A.Reallocate(run, 4096));       // still a page run (a whole page), one page now
        Assert.Equal((nuint)Page, A.UsableSize(run));
        byte* small = (byte*)A.Reallocate(run, 100);                  // small enough for a slab: moves there
        Assert.NotEqual((nint)run, (nint)small);
        Assert.Equal((nuint)112, A.UsableSize(small));
        for (int i = 0; i < 40; i++) Assert.Equal((byte)i, small[i]);
        run = (byte*)A.Reallocate(small, 3 * Page);

        byte* grown = (byte*)A.Reallocate(run, 64 * Page);            // growing moves
        for (int i = 0; i < 40; i++) Assert.Equal((byte)i, grown[i]);
        A.Free(grown);

        void* fresh = A.Reallocate(null, 24);
        Assert.Equal((nuint)32, A.UsableSize(fresh));
        A.Free(fresh);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void StatisticsReturnToTheStartAfterFreeingAllAndTrim()
    {
        Assert.Equal((nuint)0, _h.StartAllocatedBytes);
        var rng = new Random(3);
        var blocks = Enumerable.Range(0, 5000).Select(_ => (nint)A.Allocate((nuint)rng.Next(0, 5000))).ToList();
        Assert.True(A.AllocatedBytes > 0);
        Assert.Equal(A.ManagedBytes, A.GetSection(0).Size);
        foreach (nint p in blocks.OrderBy(_ => rng.Next())) A.Free((void*)p);
        Assert.True(A.AllocatedBytes > 0, "cached empty slabs count until Trim");
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void PagesCanBeAllocatedDirectlyAndFromLowMemory()
    {
        nuint a = A.AllocatePages(5, 8 * Page);
        Assert.Equal((nuint)0, a % (8 * Page));
        Assert.True(A.TryAllocatePages(1, Page, out nuint b));
        A.FreePages(a, 5);
        A.FreePages(b, 1);
        Assert.False(A.TryAllocatePages(1 << 20, Page, out nuint none));
        Assert.Equal((nuint)0, none);
        // Host-like mapping: every address is above 4 GiB, so low memory is never available here.
        var e = Assert.Throws<AllocatorException>(() => A.AllocatePagesLowMem(1, Page));
        Assert.Equal(AllocError.NoMemory, e.Error);
    }

    [Fact]
    public void HotAddedRegionsServeRequestsAndAreListed()
    {
        using var extra = new NativeRegion(160 << 20);   // holds an aligned 64 MiB block for the 48 MiB run
        Assert.Equal(1, A.SectionCount);
        Assert.False(A.TryAllocate(48 << 20, 16, out void* none));
        Assert.True(none == null);
        A.AddRegion(extra.Pointer, extra.Size);
        Assert.Equal(2, A.SectionCount);
        void* big = A.Allocate(48 << 20);
        Assert.InRange((nuint)big, extra.Address, extra.Address + extra.Size);
        Assert.Equal(A.GetSection(0).Size + A.GetSection(1).Size, A.ManagedBytes);
        A.Free(big);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void UnalignedRegionsStillAlignLargeAllocations()
    {
        using var region = new NativeRegion(8 << 20);
        var g = new GlobalAllocator();
        g.Init(region.Pointer + 77, region.Size - 77);
        void* p = g.Allocate(10000, 64 << 10);
        Assert.Equal((nuint)0, (nuint)p % (64 << 10));
        g.Free(p);
        g.Trim();
        Assert.Equal((nuint)0, g.AllocatedBytes);
    }
}
