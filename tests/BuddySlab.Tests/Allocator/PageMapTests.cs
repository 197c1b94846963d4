using PageMapRun = BuddySlab.GlobalAllocator.PageMapRun;
using PageState = BuddySlab.GlobalAllocator.PageState;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The page map (<see cref="GlobalAllocator.ReadPageMap"/>): its runs tile every section, each live run shows the state
/// its head record holds (slab of its class, large block, page run, cached run, metadata), and its free runs are the
/// buddy's free blocks, per order exactly what the statistics snapshot counts.
/// </summary>
public unsafe class PageMapTests
{
    private const int Page = 4096;

    /// <summary>Checks that the runs of each section start at page 0, follow one another without gap or overlap, and add
    /// up to the section's pages; and that the free runs, per order, are the snapshot's free blocks.</summary>
    private static void AssertTilesAndMatches(GlobalAllocator.PageMapSnapshot map, HeapStatistics statistics)
    {
        Assert.Equal(Page, map.PageSize);
        Assert.Equal(statistics.Sections.Count, map.Sections.Count);
        for (int i = 0; i < map.Sections.Count; i++)
        {
            var runs = map.Runs.Where(r => r.Section == i).ToList();
            uint next = 0;
            foreach (PageMapRun r in runs)
            {
                Assert.Equal(next, r.FirstPage);
                Assert.True(r.Pages > 0);
                next += r.Pages;
            }
            Assert.Equal(map.Sections[i].TotalPageCount, (nuint)next);
            Assert.Equal(statistics.Sections[i].PageCount, (nuint)next);
            var orders = new nuint[statistics.Sections[i].FreeBlocksByOrder.Count];
            foreach (PageMapRun r in runs.Where(r => r.State == PageState.Free))
            {
                Assert.Equal(1u << r.Detail, r.Pages);
                orders[r.Detail]++;
            }
            Assert.Equal(statistics.Sections[i].FreeBlocksByOrder, orders);
        }
        // Sections are listed in order, each run once.
        Assert.Equal(map.Runs.OrderBy(r => r.Section).ThenBy(r => r.FirstPage), map.Runs);
    }

    [Fact]
    public void EachLiveRunShowsItsStateAndTheFreeRunsAreTheFreeBlocks()
    {
        using var h = new GlobalHarness(cpus: 1);
        GlobalAllocator a = h.Allocator;
        Assert.True(SizeClass.TryFind(64, 16, out SizeClass c64));
        Assert.True(SizeClass.TryFind(1024, 16, out SizeClass c1k));

        var small = Enumerable.Range(0, c64.ObjectsPerSlab + 1).Select(_ => (nint)a.Allocate(64)).ToList();   // two slabs
        nint kilobyte = (nint)a.Allocate(1024);
        nuint run = a.AllocatePages(5, Page);
        nint large = (nint)a.Allocate(10_000);                      // three pages
        nuint metadata = a.AllocatePages(2, Page);
        a.Buddy.RunHeadRecord(metadata)->Flags = RunStates.Metadata;   // as the page back end marks the allocator's own runs

        GlobalAllocator.PageMapSnapshot map = a.ReadPageMap();
        AssertTilesAndMatches(map, a.GetStatistics());
        Assert.Equal((nuint)(2 * c64.SlabPages), map.CountPages(PageState.Slab, c64.Index));
        Assert.Equal((nuint)c1k.SlabPages, map.CountPages(PageState.Slab, c1k.Index));
        Assert.Equal((nuint)(2 * c64.SlabPages + c1k.SlabPages), map.CountPages(PageState.Slab));
        Assert.Equal((nuint)5, map.CountPages(PageState.PageRun));
        Assert.Equal((nuint)3, map.CountPages(PageState.LargeBlock));
        nuint ownMetadata = a.MetadataBytes / Page;                 // the thread's cache: runs of the metadata arena
        Assert.True(ownMetadata > 0);
        Assert.Equal(2 + ownMetadata, map.CountPages(PageState.Metadata));
        Assert.Equal((nuint)0, map.CountPages(PageState.Cached));
        Assert.Equal((PageState.PageRun, 5u), AddressOf(map, h, run));
        Assert.Equal((PageState.LargeBlock, 3u), AddressOf(map, h, (nuint)large));
        Assert.Equal((PageState.Metadata, 2u), AddressOf(map, h, metadata));
        // The flag set by hand leaves the back end's metadata count alone: AllocatedBytes still counts those two pages.
        Assert.Equal(a.AllocatedBytes / Page + ownMetadata, map.Runs.Where(r => r.State != PageState.Free).Aggregate((nuint)0, (s, r) => s + r.Pages));

        // Freed, the page run and the large block sit in this thread's run stacks: cached, still allocated in the buddy.
        a.FreePages(run, 5);
        a.Free((void*)large);
        map = a.ReadPageMap();
        AssertTilesAndMatches(map, a.GetStatistics());
        Assert.Equal((nuint)8, map.CountPages(PageState.Cached));
        Assert.Equal((PageState.Cached, 5u), AddressOf(map, h, run));
        Assert.Equal((nuint)0, map.CountPages(PageState.PageRun) + map.CountPages(PageState.LargeBlock));

        // After Trim only the live objects' slabs and the metadata are left; everything else is free blocks.
        foreach (nint p in small) a.Free((void*)p);
        a.Trim();
        map = a.ReadPageMap();
        AssertTilesAndMatches(map, a.GetStatistics());
        Assert.Equal((nuint)c1k.SlabPages, map.CountPages(PageState.Slab));
        Assert.Equal((nuint)0, map.CountPages(PageState.Cached));
        ownMetadata = a.MetadataBytes / Page;                       // the thread's cache keeps its magazines
        Assert.Equal(2 + ownMetadata, map.CountPages(PageState.Metadata));
        Assert.Equal(map.Sections.Aggregate((nuint)0, (s, x) => s + x.TotalPageCount) - (nuint)c1k.SlabPages - 2 - ownMetadata,
            map.CountPages(PageState.Free));

        a.Free((void*)kilobyte);
        a.Buddy.RunHeadRecord(metadata)->Flags = RunStates.PageRun;
        a.FreePages(metadata, 2);
        h.AssertAllPagesBack();
    }

    [Fact]
    public void AHeapOfManyRegionsIsMappedSectionBySection()
    {
        using var h = new GlobalHarness(bytes: 4 << 20, cpus: 1);
        using var second = new NativeRegion(2 << 20);
        using var third = new NativeRegion(1 << 20);
        GlobalAllocator a = h.Allocator;
        a.AddRegion(second.Pointer, second.Size);
        a.AddRegion(third.Pointer, third.Size);
        var random = new Random(5);
        var runs = new List<(nuint Address, nuint Pages)>();
        for (int i = 0; i < 300; i++)
        {
            nuint pages = (nuint)random.Next(1, 40);
            if (a.TryAllocatePages(pages, Page, out nuint p)) runs.Add((p, pages));
        }
        for (int i = 0; i < runs.Count; i += 2) a.FreePages(runs[i].Address, runs[i].Pages);
        a.Trim();

        GlobalAllocator.PageMapSnapshot map = a.ReadPageMap();
        Assert.Equal(3, map.Sections.Count);
        AssertTilesAndMatches(map, a.GetStatistics());
        nuint live = 0;
        for (int i = 1; i < runs.Count; i += 2)
        {
            Assert.Equal((PageState.PageRun, (uint)runs[i].Pages), AddressOf(map, h, runs[i].Address));
            live += runs[i].Pages;
        }
        Assert.Equal(live, map.CountPages(PageState.PageRun));
        Assert.Equal(live, a.AllocatedBytes / Page);
        for (int i = 1; i < runs.Count; i += 2) a.FreePages(runs[i].Address, runs[i].Pages);
    }

    [Fact]
    public void ReadingTheMapOfAnAllocatorWithoutMemoryOrDisposedThrows()
    {
        var a = new GlobalAllocator();
        Assert.Equal(AllocError.NotInitialized, Assert.Throws<AllocatorException>(() => a.ReadPageMap()).Error);
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 1 << 20 });
        heap.Dispose();
        Assert.Throws<ObjectDisposedException>(() => heap.Allocator.ReadPageMap());
    }

    /// <summary>The state and length of the run that starts at <paramref name="address"/>.</summary>
    private static (PageState State, uint Pages) AddressOf(GlobalAllocator.PageMapSnapshot map, GlobalHarness h, nuint address)
    {
        for (int i = 0; i < map.Sections.Count; i++)
        {
            ManagedSection s = map.Sections[i];
            if (address < s.Start || address >= s.Start + s.Size) continue;
            uint page = (uint)((address - s.Start) / Page);
            PageMapRun run = Assert.Single(map.Runs, r => r.Section == i && r.FirstPage == page);
            return (run.State, run.Pages);
        }
        throw new InvalidOperationException($"0x{address:x} is in no section of the map");
    }
}
