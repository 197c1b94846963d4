namespace BuddySlab.Tests.Slab;

/// <summary>The standalone protocol, driven exactly as a kernel would: a buddy for pages, a slab allocator per CPU.</summary>
public unsafe class SlabAllocatorTests : IDisposable
{
    private const int Page = 4096;
    private readonly NativeRegion _region = new(8 << 20);
    private readonly BuddyAllocator _buddy = new();

    public SlabAllocatorTests() => _buddy.Init(_region.Pointer, _region.Size);

    public void Dispose() => _region.Dispose();

    /// <summary>Allocate, feeding slabs from the buddy when asked.</summary>
    private nuint Allocate(SlabAllocator slab, nuint size, nuint alignment = 8)
    {
        while (true)
        {
            var r = slab.Allocate(size, alignment);
            if (r.Status == SlabAllocStatus.Allocated) return r.Address;
            nuint bytes = r.Pages * Page;
            nuint pages = _buddy.AllocatePages(r.Pages, bytes);
            _buddy.SetPageFlags(pages, PageFlags.Slab);
            slab.AddSlab(r.SizeClass, pages, bytes);
        }
    }

    private void Free(SlabAllocator slab, nuint address, nuint size, nuint alignment = 8)
    {
        var r = slab.Free((void*)address, size, alignment);
        if (r.Status == SlabFreeStatus.FreeSlab) _buddy.FreePages(r.SlabAddress, r.Pages);
        ReturnEmpties(slab);
    }

    private void ReturnEmpties(SlabAllocator slab)
    {
        while (slab.TryTakeEmptySlab(out nuint a, out nuint pages)) _buddy.FreePages(a, pages);
    }

    /// <summary>A class up to 2 KiB keeps its emptied slab for the next allocation; a class above it hands its emptied
    /// slab back at once (its pages go back to the caller's page caches).</summary>
    [Theory]
    [InlineData(1024, false)]
    [InlineData(2048, false)]
    [InlineData(2304, true)]
    [InlineData(4608, true)]
    [InlineData(8000, true)]
    public void OnlyTheClassesUpToTwoKiBKeepAnEmptiedSlab(int size, bool handedBack)
    {
        var slab = new SlabAllocator();
        nuint a = Allocate(slab, (nuint)size, 16);
        SizeClass.TryFind((nuint)size, 16, out var c);
        var r = slab.Free((void*)a, (nuint)size, 16);
        Assert.Equal(handedBack ? SlabFreeStatus.FreeSlab : SlabFreeStatus.Done, r.Status);
        if (handedBack)
        {
            Assert.Equal(a & ~(nuint)(c.SlabBytes(Page) - 1), r.SlabAddress);
            Assert.Equal((nuint)c.SlabPages, r.Pages);
            _buddy.FreePages(r.SlabAddress, r.Pages);
            Assert.Equal((nuint)0, slab.SlabCount);
        }
        else Assert.Equal((nuint)1, slab.SlabCount);                   // the cached empty slab
        slab.Trim();
        ReturnEmpties(slab);
        Assert.Equal((nuint)0, slab.SlabCount);
        Assert.Equal((nuint)0, _buddy.AllocatedBytes);
    }

    [Fact]
    public void TheFirstAllocationAsksForASlabOfTheClassSize()
    {
        var slab = new SlabAllocator();
        var r = slab.Allocate(64, 8);
        Assert.Equal(SlabAllocStatus.NeedsSlab, r.Status);
        Assert.Equal(64, r.SizeClass.ObjectSize);
        Assert.Equal((nuint)1, r.Pages);
        var big = slab.Allocate(2000, 8);
        Assert.Equal((nuint)8, big.Pages);
        Assert.Equal(2048, big.SizeClass.ObjectSize);
    }

    [Fact]
    public void TwoHundredObjectsFillSlabsInOrderAndFreedSlotsAreReusedExactly()
    {
        var slab = new SlabAllocator();
        var objects = Enumerable.Range(0, 200).Select(_ => Allocate(slab, 64)).ToList();
        Assert.Equal(200, objects.Distinct().Count());
        Assert.Equal((nuint)4, slab.SlabCount);                      // 62 per slab
        foreach (nuint a in objects) Assert.Equal((nuint)0, a % 64);
        // Within a slab, objects are handed out lowest first.
        Assert.Equal(objects[0] + 64, objects[1]);

        Free(slab, objects[10], 64);
        Free(slab, objects[5], 64);
        // The slab with free objects is at the head of the partial list; its lowest free object comes first.
        Assert.Equal(objects[5], Allocate(slab, 64));
        Assert.Equal(objects[10], Allocate(slab, 64));
    }

    [Fact]
    public void EveryClassServesObjectsOfItsSizeAndAlignment()
    {
        var slab = new SlabAllocator();
        foreach (var c in slab.Classes)
        {
            var taken = new List<nuint>();
            // Whole pages above 2 KiB take page runs: the 4096- and 8192-byte classes serve the sizes just below them.
            nuint size = (nuint)c.ObjectSize - (nuint)(c.ObjectSize > 2048 && c.ObjectSize % slab.PageSize == 0 ? 1 : 0);
            for (int i = 0; i < c.ObjectsPerSlab + 1; i++)
            {
                nuint a = Allocate(slab, size, (nuint)c.Alignment);
                Assert.Equal((nuint)0, a % (nuint)c.Alignment);
                new Span<byte>((void*)a, c.ObjectSize).Fill((byte)i);
                taken.Add(a);
            }
            for (int i = 0; i < taken.Count; i++)
            {
                Assert.True(new Span<byte>((void*)taken[i], c.ObjectSize).IndexOfAnyExcept((byte)i) < 0, "object contents intact");
                Free(slab, taken[i], size, (nuint)c.Alignment);
            }
        }
        slab.Trim();
        ReturnEmpties(slab);
        Assert.Equal((nuint)0, slab.SlabCount);
        Assert.Equal(_buddy.TotalPageCount, _buddy.FreePageCount);
    }

    [Fact]
    public void AnAddedSlabWaitsAsTheEmptyOneAndASpareIsHandedBackAtOnce()
    {
        var slab = new SlabAllocator();
        SizeClass.TryFind(64, 8, out var c);
        nuint first = _buddy.AllocatePages(1, Page), second = _buddy.AllocatePages(1, Page);
        slab.AddSlab(c, first, Page);
        Assert.Equal((0, 0, 1), slab.CountLists(c.Index));               // cached empty, not partial
        slab.AddSlab(c, second, Page);                                    // not needed: one is cached already
        Assert.True(slab.TryTakeEmptySlab(out nuint back, out nuint pages));
        Assert.Equal((second, (nuint)1), (back, pages));
        nuint obj = Allocate(slab, 64);
        Assert.InRange(obj, first, first + Page);                         // the cached slab serves the allocation
        Assert.Equal((1, 0, 0), slab.CountLists(c.Index));
        Free(slab, obj, 64);
        slab.Trim();
        Assert.True(slab.TryTakeEmptySlab(out back, out _));
        Assert.Equal(first, back);
        _buddy.FreePages(first, 1);
        _buddy.FreePages(second, 1);
    }

    [Fact]
    public void OnlyOneEmptySlabIsCachedPerClassAndTheRestGoBack()
    {
        var slab = new SlabAllocator();
        var objects = Enumerable.Range(0, 62 * 3).Select(_ => Allocate(slab, 64)).ToList();
        nuint pagesBefore = _buddy.FreePageCount;
        int returned = 0;
        foreach (nuint a in objects)
        {
            var r = slab.Free((void*)a, 64, 8);
            if (r.Status == SlabFreeStatus.FreeSlab) { returned++; _buddy.FreePages(r.SlabAddress, r.Pages); }
        }
        Assert.Equal(2, returned);
        Assert.Equal((nuint)1, slab.SlabCount);
        Assert.Equal(pagesBefore + 2, _buddy.FreePageCount);
        slab.Trim();
        ReturnEmpties(slab);
        Assert.Equal((nuint)0, slab.SlabCount);
    }

    [Fact]
    public void ObjectsFreedOnAnotherCpuAreDrainedByTheOwner()
    {
        var cpu0 = new SlabAllocator(Page, 0);
        var cpu1 = new SlabAllocator(Page, 1);
        var objects = Enumerable.Range(0, 62).Select(_ => Allocate(cpu0, 64)).ToList();   // one full slab
        foreach (nuint a in objects) Assert.Equal(SlabFreeStatus.Done, cpu1.Free((void*)a, 64, 8).Status);
        Assert.Equal((nuint)1, cpu0.SlabCount);
        // The owner's next allocation drains the remote frees and reuses the slab: no new slab needed.
        Assert.Equal(objects[0], Allocate(cpu0, 64));
        Assert.Equal((nuint)1, cpu0.SlabCount);
        Free(cpu0, objects[0], 64);
        Assert.Equal((nuint)1, cpu0.SlabCount);   // empty and cached
        cpu0.Trim();
        ReturnEmpties(cpu0);
        Assert.Equal(_buddy.TotalPageCount, _buddy.FreePageCount);
    }

    [Fact]
    public void BadSlabsAndBadFreesAreRejected()
    {
        var slab = new SlabAllocator();
        SizeClass.TryFind(64, 8, out var c64);
        nuint page = _buddy.AllocatePages(2, 2 * Page);
        var e = Assert.Throws<AllocatorException>(() => slab.AddSlab(c64, page, 2 * Page));
        Assert.Equal(AllocError.InvalidParam, e.Error);
        e = Assert.Throws<AllocatorException>(() => slab.AddSlab(c64, page + 8, Page));
        Assert.Equal(AllocError.InvalidParam, e.Error);
        Assert.Throws<AllocatorException>(() => slab.Allocate(8193, 8));        // larger than every class
        Assert.Throws<AllocatorException>(() => slab.Allocate(4096, 8));        // whole pages above 2 KiB: a page run
        Assert.Throws<AllocatorException>(() => slab.Allocate(3000, 512));      // above 2 KiB, aligned to 256 at most
        Assert.Throws<AllocatorException>(() => slab.Allocate(16, 3));

        nuint a = Allocate(slab, 64);
        Free(slab, a, 64);
        e = Assert.Throws<AllocatorException>(() => slab.Free((void*)a, 64, 8));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.Contains("double free", e.Message);
        nuint b = Allocate(slab, 64);
        e = Assert.Throws<AllocatorException>(() => slab.Free((void*)(b + 8), 64, 8));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        e = Assert.Throws<AllocatorException>(() => slab.Free((void*)b, 16, 8));             // wrong class
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Free(slab, b, 64);
    }
}
