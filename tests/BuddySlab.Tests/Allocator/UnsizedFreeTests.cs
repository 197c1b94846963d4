using BuddySlab.Buddy;
using PageMapRun = BuddySlab.GlobalAllocator.PageMapRun;
using PageState = BuddySlab.GlobalAllocator.PageState;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The unsized free finds an object's slab from the record of the object's own page: every page of a live slab names
/// the slab's class (<see cref="PageRecord.IsSlabPage"/>). These tests check that exactly the pages of live slabs read
/// so, whatever their pages become once the slab is gone (a cached run, a page run, a large block, a free block, part of
/// a spanning run, metadata), and that every check of the free still holds on the pages past a slab's head.
/// </summary>
public unsafe class UnsizedFreeTests : IDisposable
{
    private const int Page = 4096;
    private readonly GlobalHarness _h = new(bytes: 4 << 20);
    private GlobalAllocator A => _h.Allocator;

    /// <summary>The largest class whose slab spans 8 pages: objects on 7 of its 8 pages are found through slab pages.</summary>
    private static readonly SizeClass Wide = SizeClass.All().ToArray().Last(c => c.SlabPages == 8);

    public void Dispose() => _h.Dispose();

    private PageRecord* RecordOf(nuint address)
    {
        BuddySection* s = A.Buddy.FindSection(address);
        Assert.True(s != null);
        return s->Records + ((address - s->FirstPage) >> s->PageShift);
    }

    /// <summary>Every page of every section reads as a slab page exactly when the page map puts it in a live slab, and
    /// then names that slab's class; a slab's later pages are slab pages that know their distance from its head.</summary>
    private void AssertOnlyLiveSlabsReadAsSlabs()
    {
        GlobalAllocator.PageMapSnapshot map = A.ReadPageMap();
        for (int i = 0; i < A.Buddy.SectionCount; i++)
        {
            BuddySection* s = A.Buddy.SectionPointer(i);
            foreach (PageMapRun run in map.Runs.Where(r => r.Section == i))
            {
                bool slab = run.State == PageState.Slab;
                for (uint p = 0; p < run.Pages; p++)
                {
                    PageRecord r = s->Records[run.FirstPage + p];
                    Assert.True(slab == r.IsSlabPage, $"page {run.FirstPage + p} ({run.State} run at {run.FirstPage}) reads as a slab page: {r.IsSlabPage}");
                    if (!slab) continue;
                    Assert.Equal(run.Detail, (int)r.SlabClass);
                    Assert.Equal(p == 0 ? PageRecord.RunHead : PageRecord.SlabPage, r.Kind);
                    if (p > 0) Assert.Equal(p, (uint)r.Order);
                }
            }
        }
    }

    /// <summary>The unsized free and its answering form both refuse <paramref name="address"/> as no live block, and
    /// change nothing.</summary>
    private void Refused(nuint address)
    {
        nuint before = A.AllocatedBytes;
        var e = Assert.Throws<AllocatorException>(() => A.Free((void*)address));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.Contains($"0x{address:x}", e.Message);
        Assert.False(A.TryFree((void*)address, out AllocError error));
        Assert.Equal(AllocError.NotAllocated, error);
        Assert.Equal(before, A.AllocatedBytes);
    }

    /// <summary>Fills most of the heap with slabs of <see cref="Wide"/>, frees every object unsized and trims, so the
    /// slabs' pages go back to the buddy: answers the objects freed (each on a page that was a slab's).</summary>
    private List<nuint> RecycleWideSlabs()
    {
        var objects = new List<nuint>();
        while (A.Buddy.AllocatedBytes < A.Buddy.ManagedBytes / 10 * 8)
            objects.Add((nuint)A.Allocate((nuint)Wide.ObjectSize));
        AssertOnlyLiveSlabsReadAsSlabs();
        foreach (nuint p in objects) A.Free((void*)p);
        A.Trim();
        AssertOnlyLiveSlabsReadAsSlabs();
        return objects;
    }

    /// <summary>Former objects on the pages past their slab's head (where the record read is a former slab page's).</summary>
    private static IEnumerable<nuint> OnLaterPages(List<nuint> objects) =>
        objects.Where(p => (p & (nuint)(Wide.SlabBytes(Page) - 1)) >= Page);

    [Fact]
    public void EveryPageOfALiveSlabNamesItsClass()
    {
        var objects = new List<nuint>();
        foreach (SizeClass c in SizeClass.All())
        {
            nuint p = (nuint)A.Allocate((nuint)c.ObjectSize - (nuint)(c.ObjectSize > 2048 && c.ObjectSize % Page == 0 ? 1 : 0));   // whole pages take runs
            objects.Add(p);
            nuint slab = p & ~(nuint)(c.SlabBytes(Page) - 1);
            for (int page = 0; page < c.SlabPages; page++)
            {
                PageRecord* r = RecordOf(slab + (nuint)(page * Page));
                Assert.True(r->IsSlabPage);
                Assert.Equal(c.Index, (int)r->SlabClass);
            }
        }
        AssertOnlyLiveSlabsReadAsSlabs();
        foreach (nuint p in objects) A.Free((void*)p);
        _h.AssertAllPagesBack();
        AssertOnlyLiveSlabsReadAsSlabs();
    }

    [Fact]
    public void ObjectsOnEveryPageOfAWideSlabAreFreedOnceAndTheirBadNeighboursRefused()
    {
        var objects = new List<nuint>();
        for (int i = 0; i < 2 * Wide.ObjectsPerSlab; i++) objects.Add((nuint)A.Allocate((nuint)Wide.ObjectSize));
        var later = OnLaterPages(objects).ToList();
        Assert.NotEmpty(later);
        foreach (nuint p in later)
        {
            Refused(p + 16);                                   // inside the object
            Refused(p + 1);                                    // misaligned
        }
        foreach (nuint p in later) A.Free((void*)p);
        foreach (nuint p in later) Refused(p);                 // a second free, whether the object sits in a magazine or its slab
        A.FlushThreadCache();
        foreach (nuint p in later) Refused(p);
        foreach (nuint p in objects.Except(later)) Assert.True(A.TryFree((void*)p, out _));
        _h.AssertAllPagesBack();
        AssertOnlyLiveSlabsReadAsSlabs();
    }

    [Fact]
    public void AnEmptiedSlabInTheRunCacheIsNotASlab()
    {
        // Three slabs' worth: once emptied, one stays with its class as a slab, the others go to the CPU's run cache.
        var objects = new List<nuint>();
        for (int i = 0; i < 3 * Wide.ObjectsPerSlab; i++) objects.Add((nuint)A.Allocate((nuint)Wide.ObjectSize));
        foreach (nuint p in objects)
        {
            A.Free((void*)p);
            A.FlushThreadCache();                               // to the slab at once, never by way of a depot
        }
        GlobalAllocator.PageMapSnapshot map = A.ReadPageMap();
        Assert.True(map.CountPages(PageState.Cached) >= (nuint)Wide.SlabPages, "no emptied slab went to the run cache");
        AssertOnlyLiveSlabsReadAsSlabs();
        nuint slabMask = ~(nuint)(Wide.SlabBytes(Page) - 1);
        var cached = OnLaterPages(objects).Where(p => RecordOf(p & slabMask)->Flags == RunStates.Cached).ToList();
        Assert.NotEmpty(cached);
        foreach (nuint p in cached) Refused(p);
        // The cached run handed out again as a page run: its later pages are inside it, not objects.
        nuint run = A.AllocatePages((nuint)Wide.SlabPages, (nuint)Wide.SlabBytes(Page));
        Assert.Contains(objects, p => (p & slabMask) == run);
        new Span<byte>((void*)run, Wide.SlabBytes(Page)).Clear();
        AssertOnlyLiveSlabsReadAsSlabs();
        foreach (nuint p in objects.Where(p => (p & slabMask) == run && p - run >= Page)) Refused(p);
        A.FreePages(run, (nuint)Wide.SlabPages);
        _h.AssertAllPagesBack();
        AssertOnlyLiveSlabsReadAsSlabs();
    }

    [Fact]
    public void FormerSlabPagesInFreeBlocksAreNotSlabs()
    {
        List<nuint> objects = RecycleWideSlabs();
        foreach (nuint p in OnLaterPages(objects)) Refused(p);
        BuddyInspector.CheckInvariants(A.Buddy);
    }

    [Fact]
    public void FormerSlabPagesInPageRunsAreNotSlabs()
    {
        List<nuint> objects = RecycleWideSlabs();
        // Runs of 3 pages (exact runs: each leaves a free page in its block) over everything the slabs held.
        var runs = new List<nuint>();
        while (A.TryAllocatePages(3, Page, out nuint run))
        {
            runs.Add(run);
            new Span<byte>((void*)run, 3 * Page).Clear();      // the program's data: no old free mark survives to help
        }
        AssertOnlyLiveSlabsReadAsSlabs();
        int insideRuns = 0;
        foreach (nuint p in OnLaterPages(objects))
        {
            Refused(p);
            if (runs.Any(r => p > r && p < r + 3 * Page)) insideRuns++;
        }
        Assert.True(insideRuns > 0, "no page run reused a slab's later pages");
        foreach (nuint r in runs) A.FreePages(r, 3);
        _h.AssertAllPagesBack();
        AssertOnlyLiveSlabsReadAsSlabs();
    }

    [Fact]
    public void FormerSlabPagesInLargeBlocksAreNotSlabs()
    {
        List<nuint> objects = RecycleWideSlabs();
        const nuint size = 5 * Page - 100;
        var blocks = new List<nuint>();
        while (A.TryAllocate(size, 16, out void* block))
        {
            blocks.Add((nuint)block);
            new Span<byte>(block, (int)size).Clear();
        }
        AssertOnlyLiveSlabsReadAsSlabs();
        int inside = 0;
        foreach (nuint p in OnLaterPages(objects))
        {
            Refused(p);
            if (blocks.Any(b => p > b && p < b + size)) inside++;
        }
        Assert.True(inside > 0, "no large block reused a slab's later pages");
        foreach (nuint b in blocks) A.Free((void*)b);
        _h.AssertAllPagesBack();
        AssertOnlyLiveSlabsReadAsSlabs();
    }

    [Fact]
    public void FormerSlabPagesInASpanningRunAreNotSlabs()
    {
        // Every page taken one by one, then a stretch of 40 pages let go that starts one page past a 32-page boundary, so
        // it holds no free block of 32 pages: slabs fill it, go back, and a large block of 24 pages can then only span
        // the stretch's blocks (a head and tails, not one aligned block) over the slabs' old pages.
        var single = new List<nuint>();
        while (A.TryAllocatePages(1, Page, out nuint page)) single.Add(page);
        var held = single.ToHashSet();
        nuint start = single.Where(p => (p / Page & 31) == 1).OrderBy(p => p)
            .First(p => Enumerable.Range(0, 40).All(k => held.Contains(p + (nuint)k * Page)));
        var released = single.Where(p => p >= start && p < start + 40 * Page).ToList();
        foreach (nuint p in released) A.FreePages(p, 1);
        A.Trim();
        var objects = new List<nuint>();
        while (A.TryAllocate((nuint)Wide.ObjectSize, 16, out void* o)) objects.Add((nuint)o);
        Assert.True(OnLaterPages(objects).Count(p => p >= start && p < start + 40 * Page) >= 3 * Wide.ObjectsPerSlab / 2);
        AssertOnlyLiveSlabsReadAsSlabs();
        foreach (nuint p in objects)
        {
            A.Free((void*)p);
            A.FlushThreadCache();                               // emptied slabs go by the run cache, as they do at run time
        }
        A.Trim();
        AssertOnlyLiveSlabsReadAsSlabs();

        const nuint size = 24 * Page;
        nuint block = (nuint)A.Allocate(size);
        Assert.True(block >= start && block + size <= start + 40 * Page);
        Assert.NotEqual((nuint)0, block & (32 * Page - 1));     // spanning: not aligned to its 32-page block
        new Span<byte>((void*)block, (int)size).Clear();
        AssertOnlyLiveSlabsReadAsSlabs();
        var inside = OnLaterPages(objects).Where(p => p > block && p < block + size).ToList();
        Assert.True(inside.Count >= Wide.ObjectsPerSlab, "the spanning run holds too few of the slabs' later pages");
        foreach (nuint p in inside) Refused(p);
        A.Free((void*)block);
        foreach (nuint p in single.Except(released)) A.FreePages(p, 1);
        _h.AssertAllPagesBack();
        AssertOnlyLiveSlabsReadAsSlabs();
    }

    [Fact]
    public void FormerSlabPagesInMetadataRunsAreNotSlabs()
    {
        List<nuint> objects = RecycleWideSlabs();
        GlobalAllocator.PageMapSnapshot before = A.ReadPageMap();
        nuint metadataBefore = before.CountPages(PageState.Metadata);
        // Threads that keep their caches (a magazine for every class each) until the metadata arena takes new runs.
        using var done = new ManualResetEventSlim();
        var threads = new List<Thread>();
        using var ready = new SemaphoreSlim(0);
        for (int t = 0; t < 48 && A.ReadPageMap().CountPages(PageState.Metadata) < metadataBefore + 32; t++)
        {
            var thread = new Thread(() =>
            {
                var mine = new List<nuint>();
                foreach (SizeClass c in SizeClass.All()) mine.Add((nuint)A.Allocate((nuint)c.ObjectSize));
                foreach (nuint p in mine) A.Free((void*)p);
                ready.Release();
                done.Wait();
                A.ReleaseThreadCache();
            });
            thread.Start();
            threads.Add(thread);
            ready.Wait();
        }
        GlobalAllocator.PageMapSnapshot map = A.ReadPageMap();
        Assert.True(map.CountPages(PageState.Metadata) > metadataBefore, "no new metadata run");
        AssertOnlyLiveSlabsReadAsSlabs();
        BuddySection* s = A.Buddy.SectionPointer(0);
        var metadataPages = map.Runs.Where(r => r.Section == 0 && r.State == PageState.Metadata)
            .SelectMany(r => Enumerable.Range(1, (int)r.Pages - 1).Select(k => s->FirstPage + (nuint)(r.FirstPage + k) * Page)).ToHashSet();
        var inside = OnLaterPages(objects).Where(p => metadataPages.Contains(p & ~(nuint)(Page - 1))).ToList();
        Assert.NotEmpty(inside);
        foreach (nuint p in inside) Refused(p);
        done.Set();
        foreach (Thread t in threads) t.Join();
        BuddyInspector.CheckInvariants(A.Buddy);
    }

    [Fact]
    public void ABlockOfAnotherAllocatorIsNotFreedHere()
    {
        using var other = new GlobalHarness(bytes: 4 << 20);
        var objects = new List<nuint>();
        for (int i = 0; i < 2 * Wide.ObjectsPerSlab; i++) objects.Add((nuint)other.Allocator.Allocate((nuint)Wide.ObjectSize));
        foreach (nuint p in objects)
        {
            Assert.Equal(AllocError.NotFound, Assert.Throws<AllocatorException>(() => A.Free((void*)p)).Error);
            Assert.False(A.TryFree((void*)p, out AllocError error));
            Assert.Equal(AllocError.NotFound, error);
        }
        foreach (nuint p in objects) other.Allocator.Free((void*)p);
        other.AssertAllPagesBack();
        _h.AssertAllPagesBack();
    }
}
