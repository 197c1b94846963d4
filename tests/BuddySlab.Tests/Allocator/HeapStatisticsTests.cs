namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The statistics snapshot (<see cref="GlobalAllocator.GetStatistics"/>): exact figures for heaps whose every block the
/// test knows, each cache kind after the frees that fill it, the sections' free blocks against the buddy's own lists,
/// the counters of releases, trims and growths, and snapshots taken while other threads run or dispose the heap.
/// </summary>
public unsafe class HeapStatisticsTests
{
    private const int Page = 4096;
    private const nuint MiB = 1 << 20;

    private static SizeClass ClassOf(nuint size)
    {
        Assert.True(SizeClass.TryFind(size, INativeAllocator.DefaultAlignment(size), out SizeClass c));
        return c;
    }

    /// <summary>A section's free blocks as "order:count" pairs, ascending (the form of <see cref="BuddyInspector.OrderHistogram"/>).</summary>
    private static string Histogram(SectionStatistics s) =>
        string.Join(' ', s.FreeBlocksByOrder.Select((count, order) => (count, order)).Where(p => p.count != 0).Select(p => $"{p.order}:{p.count}"));

    private static void AssertNothingHeld(HeapStatistics s)
    {
        Assert.Equal((nuint)0, s.AllocatedBytes);
        Assert.Equal(default(HeapCacheStatistics), s.Caches);
        foreach (SizeClassStatistics k in s.SizeClasses)
            Assert.Equal(k with { Slabs = 0, ObjectsInUse = 0, FreeObjects = 0, RemoteFrees = 0, SlabBytes = 0 }, k);
        // What is not free is the calling thread's cache: magazines and run stacks on whole runs of metadata pages.
        nuint used = s.Sections.Aggregate((nuint)0, (sum, x) => sum + (x.PageCount - x.FreePageCount));
        Assert.Equal(s.MetadataBytes, used * (nuint)s.PageSize);
        Assert.Equal((nuint)0, s.MetadataBytes % (16 * (nuint)s.PageSize));
    }

    [Fact]
    public void ObjectsOfAClassTheirSlabsAndRemoteFreesAreCountedExactly()
    {
        using var h = new GlobalHarness(cpus: 2, threadCaches: false);    // every object goes to and from its slab at once
        GlobalAllocator a = h.Allocator;
        SizeClass c = ClassOf(64);
        int n = 3 * c.ObjectsPerSlab + 5;
        var objects = Enumerable.Range(0, n).Select(_ => (nint)h.On(0).Allocator.Allocate(64)).ToList();

        HeapStatistics s = a.GetStatistics();
        Assert.Equal(Page, s.PageSize);
        Assert.Equal(SizeClass.Count, s.SizeClasses.Count);
        SizeClassStatistics k = s.SizeClasses[c.Index];
        Assert.Equal(new SizeClassStatistics(c.Index, 64, c.SlabPages, c.ObjectsPerSlab, Slabs: 4, ObjectsInUse: (nuint)n,
            FreeObjects: (nuint)(4 * c.ObjectsPerSlab - n), RemoteFrees: 0, SlabBytes: (nuint)(4 * c.SlabPages * Page)), k);
        Assert.All(s.SizeClasses.Where(x => x.ClassIndex != c.Index), x => Assert.Equal((nuint)0, x.Slabs));
        Assert.Equal(k.SlabBytes, s.AllocatedBytes);                   // nothing but those slabs
        Assert.Equal(a.AllocatedBytes, s.AllocatedBytes);
        Assert.Equal(a.ManagedBytes, s.ManagedBytes);
        Assert.Equal(default(HeapCacheStatistics), s.Caches);

        // Five freed on the other CPU: announced to their slabs, not drained yet.
        h.On(1);
        for (int i = 0; i < 5; i++) a.Free((void*)objects[i]);
        k = a.GetStatistics().SizeClasses[c.Index];
        Assert.Equal(((nuint)(n - 5), (nuint)5, (nuint)(4 * c.ObjectsPerSlab - n)), (k.ObjectsInUse, k.RemoteFrees, k.FreeObjects));
        Assert.Equal((nuint)(5 * 64), a.GetStatistics().Caches.RemoteFreeBytes);

        // The rest freed on the owner, which drains the five: one empty slab kept, the others parked in the CPU's page cache.
        h.On(0);
        for (int i = 5; i < n; i++) a.Free((void*)objects[i]);
        s = a.GetStatistics();
        k = s.SizeClasses[c.Index];
        Assert.Equal(((nuint)1, (nuint)0, (nuint)c.ObjectsPerSlab, (nuint)0), (k.Slabs, k.ObjectsInUse, k.FreeObjects, k.RemoteFrees));
        Assert.Equal(new HeapCacheStatistics(0, 0, 0, 0, CpuPageRunBytes: (nuint)(3 * c.SlabPages * Page),
            EmptySlabBytes: (nuint)(c.SlabPages * Page), RemoteFreeBytes: 0), s.Caches);
        Assert.Equal(s.CachedBytes, s.AllocatedBytes);
        Assert.Equal(a.CachedBytes, s.CachedBytes);

        a.Trim();
        AssertNothingHeld(a.GetStatistics());
    }

    [Fact]
    public void WhatTheMagazinesAndDepotsHoldIsWhatTheSlabsGaveOutAndIsNotLive()
    {
        using var h = new GlobalHarness(cpus: 1);
        GlobalAllocator a = h.Allocator;
        SizeClass c = ClassOf(64);
        int capacity = Magazine.CapacityFor(64);
        int n = 9 * capacity + 7;             // freed, more than both magazines, the CPU's depot and its budget share hold
        var objects = Enumerable.Range(0, n).Select(_ => (nint)a.Allocate(64)).ToList();

        HeapStatistics s = a.GetStatistics();
        SizeClassStatistics k = s.SizeClasses[c.Index];
        Assert.True(k.ObjectsInUse >= (nuint)n);
        Assert.Equal((k.ObjectsInUse - (nuint)n) * 64, s.Caches.ThreadMagazineBytes);    // refilled, not handed out yet
        Assert.Equal(s.Caches.ThreadMagazineBytes, s.CachedBytes);
        Assert.Equal(a.CachedBytes, s.CachedBytes);

        foreach (nint p in objects) a.Free((void*)p);
        s = a.GetStatistics();
        k = s.SizeClasses[c.Index];
        HeapCacheStatistics caches = s.Caches;
        Assert.NotEqual((nuint)0, caches.CpuDepotBytes);
        Assert.NotEqual((nuint)0, caches.SharedDepotBytes);
        Assert.Equal(k.ObjectsInUse * 64, caches.ThreadMagazineBytes + caches.CpuDepotBytes + caches.SharedDepotBytes);
        Assert.Equal(caches.TotalBytes, s.CachedBytes);
        Assert.Equal(a.CachedBytes, s.CachedBytes);

        a.FlushThreadCache();
        Assert.Equal((nuint)0, a.GetStatistics().Caches.ThreadMagazineBytes);
        a.Trim();
        AssertNothingHeld(a.GetStatistics());
    }

    [Fact]
    public void APageRunIsSeenOnTheThreadsStackThenInTheCpusCacheThenNowhere()
    {
        using var h = new GlobalHarness(cpus: 1);
        GlobalAllocator a = h.Allocator;
        nuint run = a.AllocatePages(3, Page);
        HeapStatistics s = a.GetStatistics();
        Assert.Equal((nuint)(3 * Page), s.AllocatedBytes);
        Assert.Equal(default(HeapCacheStatistics), s.Caches);

        a.FreePages(run, 3);
        s = a.GetStatistics();
        Assert.Equal(new HeapCacheStatistics(0, ThreadRunBytes: 3 * Page, 0, 0, 0, 0, 0), s.Caches);
        Assert.Equal((nuint)(3 * Page), s.AllocatedBytes);             // a cached run stays allocated in the buddy
        Assert.Equal(a.CachedBytes, s.CachedBytes);

        a.FlushThreadCache();
        s = a.GetStatistics();
        Assert.Equal(new HeapCacheStatistics(0, 0, 0, 0, CpuPageRunBytes: 3 * Page, 0, 0), s.Caches);
        Assert.Equal(a.CachedBytes, s.CachedBytes);

        a.Trim();
        AssertNothingHeld(a.GetStatistics());
    }

    [Fact]
    public void SectionsShowTheBuddysFreeBlocksByOrder()
    {
        using var h = new GlobalHarness(bytes: 8 * MiB, cpus: 1);
        GlobalAllocator a = h.Allocator;
        using var extra = new NativeRegion(4 * MiB);
        a.AddRegion(extra.Pointer, extra.Size);
        var random = new Random(17);
        var live = new List<(nuint Address, nuint Pages)>();
        for (int i = 0; i < 600; i++)
        {
            nuint pages = (nuint)random.Next(1, 40);
            if (!a.TryAllocatePages(pages, Page, out nuint run)) break;
            live.Add((run, pages));
        }
        for (int i = live.Count - 1; i >= 0; i -= 2)
        {
            a.FreePages(live[i].Address, live[i].Pages);
            live.RemoveAt(i);
        }
        a.Trim();

        HeapStatistics s = a.GetStatistics();
        Assert.Equal(2, s.Sections.Count);
        Assert.Equal(default(HeapCacheStatistics), s.Caches);
        Assert.Equal(live.Aggregate((nuint)0, (sum, r) => sum + r.Pages) * Page, s.AllocatedBytes);
        for (int i = 0; i < s.Sections.Count; i++)
        {
            SectionStatistics x = s.Sections[i];
            ManagedSection summary = a.GetSection(i);
            Assert.Equal((i, summary.Start, summary.TotalPageCount, summary.FreePageCount), (x.Index, x.Start, x.PageCount, x.FreePageCount));
            Assert.Equal(BuddyInspector.OrderHistogram(a.Buddy, i), Histogram(x));
            Assert.Equal(x.FreePageCount, x.FreeBlocksByOrder.Select((count, order) => count << order).Aggregate((nuint)0, (p, q) => p + q));
            var blocks = BuddyInspector.FreeBlocks(a.Buddy, i);
            Assert.Equal(blocks.Count == 0 ? -1 : blocks.Max(b => b.Order), x.LargestFreeOrder);
        }
        Assert.NotEqual("", Histogram(s.Sections[0]));

        foreach (var (address, pages) in live) a.FreePages(address, pages);
        a.Trim();
        AssertNothingHeld(a.GetStatistics());
    }

    [Fact]
    public void BytesGivenBackAndTrimsAreCountedWhereThePageBackEndReleasesMemory()
    {
        using var h = new GlobalHarness(bytes: 8 * MiB, cpus: 1);
        GlobalAllocator a = h.Allocator;
        ulong discarded = 0, unmapped = 0;
        a.RegionSource = new DelegateRegionSource { Discard = (_, bytes) => discarded += bytes, Release = (_, bytes) => unmapped += bytes };
        using var extra = new NativeRegion(4 * MiB);
        a.AddRegion(extra.Pointer, extra.Size);
        HeapStatistics s = a.GetStatistics();
        Assert.Equal((0ul, 0L, 0L, 0L), (s.ReleasedBytes, s.Trims, s.Growths, s.PurgePasses));   // a caller's region is no growth

        nuint run = a.AllocatePages(64, Page);
        a.FreePages(run, 64);
        a.Trim();
        s = a.GetStatistics();
        Assert.Equal(1, s.Trims);
        Assert.Single(s.Sections);
        Assert.Equal((ulong)extra.Size, unmapped);                      // the added region held nothing
        // The first trim gives back every free block of 16 pages or more, where the system takes discarded pages back.
        ulong blocks = 0;
        for (int k = PageBackend.ReleaseMinOrder; k < s.Sections[0].FreeBlocksByOrder.Count; k++)
            blocks += (ulong)s.Sections[0].FreeBlocksByOrder[k] << (k + 12);
        Assert.NotEqual(0ul, blocks);
        Assert.Equal(OsMemory.CanReserveAndDiscard ? blocks : 0, discarded);
        Assert.Equal(discarded + unmapped, s.ReleasedBytes);

        a.Trim();                                                       // nothing new to give back
        s = a.GetStatistics();
        Assert.Equal((2L, discarded + unmapped), (s.Trims, s.ReleasedBytes));
        a.PurgePass();
        Assert.Equal(1, a.GetStatistics().PurgePasses);
    }

    [Fact]
    public void ReadingStatisticsIsNoUseThatKeepsAnIdleHeapFromItsTrim()
    {
        using var h = new GlobalHarness(bytes: 8 * MiB, cpus: 1);
        GlobalAllocator a = h.Allocator;
        // Passes run on a thread of their own, as the background clock's do (a pass never revokes its caller's cache).
        void Pass()
        {
            var clock = new Thread(a.PurgePass);
            clock.Start();
            clock.Join();
        }
        a.Free(a.Allocate(64));                     // the thread's cache is made (a use in this interval) and holds the object
        Pass();                                     // a pass over a heap in use: no trim
        Assert.Equal(0, a.GetStatistics().Trims);
        void ReadEverything() => _ = (a.CachedBytes, a.ResidentBytes, a.GetSection(0), a.GetStatistics());
        for (int i = 0; i < 3; i++) ReadEverything();   // a dashboard reads every figure while nothing else happens
        var reader = new Thread(ReadEverything);        // and a thread that only reads gets no cache of its own
        reader.Start();
        reader.Join();
        Assert.Equal(1, a.ThreadCacheCount);
        Pass();                                     // nothing but reads for a whole interval: the idle pass trims
        HeapStatistics s = a.GetStatistics();
        Assert.Equal((1L, 2L), (s.Trims, s.PurgePasses));
        AssertNothingHeld(s);
    }

    [Fact]
    public void ANativeHeapCountsItsGrowthsAndWhatItGaveBack()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB, PurgeInterval = TimeSpan.Zero, HugePages = false });
        HeapStatistics s = heap.GetStatistics();
        Assert.Equal((0L, 0L, 0ul), (s.Growths, s.Trims, s.ReleasedBytes));
        byte* big = (byte*)heap.Allocate(16 * MiB);                   // more than the first 4 MiB: one growth
        new Span<byte>(big, (int)(16 * MiB)).Fill(0x5A);
        Assert.Equal(1, heap.GetStatistics().Growths);
        heap.Free(big);
        heap.Trim();
        s = heap.GetStatistics();
        Assert.Equal((1L, 1L), (s.Growths, s.Trims));
        ulong blocks = 0;
        foreach (SectionStatistics x in s.Sections)
            for (int k = PageBackend.ReleaseMinOrder; k < x.FreeBlocksByOrder.Count; k++) blocks += (ulong)x.FreeBlocksByOrder[k] << (k + 12);
        // On Linux every free block of 16 pages or more went back at once; elsewhere whole regions only, and none was free.
        if (!OsMemory.CanReserveAndDiscard)
        {
            Assert.NotEqual(0ul, s.ReleasedBytes);                    // the added region, held nothing, went back
            return;
        }
        Assert.Equal(blocks, s.ReleasedBytes);                           // every free block of 16 pages or more, at once
        Assert.True(s.ReleasedBytes >= 16 * MiB, $"{s.ReleasedBytes} bytes released");
    }

    [Fact]
    public void ResidentBytesFollowWhatIsTouchedAndGivenBack()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 * MiB, PurgeInterval = TimeSpan.Zero, HugePages = false });
        if (!ResidentPages.IsSupported)
        {
            Assert.Equal((nuint)0, heap.ResidentBytes);
            return;
        }
        nuint before = heap.ResidentBytes;
        byte* block = (byte*)heap.Allocate(8 * MiB);
        new Span<byte>(block, (int)(8 * MiB)).Fill(0x11);
        nuint touched = heap.ResidentBytes;
        Assert.True(touched >= before + 8 * MiB, $"{before} -> {touched}");
        Assert.True(touched <= heap.ReservedBytes, $"{touched} resident, {heap.ReservedBytes} reserved");
        Assert.Equal(touched, heap.GetStatistics().ResidentBytes);
        heap.Free(block);
        heap.Trim();
        nuint after = heap.ResidentBytes;
        Assert.True(after + 8 * MiB <= touched, $"{touched} -> {after} after the trim");
    }

    [Fact]
    public void RequestsAnsweredNoMemoryAreCounted()
    {
        using var h = new GlobalHarness(bytes: 4 * MiB, cpus: 1);
        GlobalAllocator a = h.Allocator;
        Assert.False(a.TryAllocate(64 * MiB, 16, out _));
        Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => a.AllocatePages(2048, Page)).Error);
        Assert.False(a.TryAllocatePages(4096, Page, out _));
        var small = new List<nint>();
        while (a.TryAllocate(1024, 16, out void* p)) small.Add((nint)p);   // the last one fails for want of a slab
        Assert.Equal(4, a.GetStatistics().FailedAllocations);
        foreach (nint p in small) a.Free((void*)p);
        Assert.Equal(4, a.GetStatistics().FailedAllocations);             // nothing counted on success
    }

    [Fact]
    public void SnapshotsTakenWhileThreadsRunAreConsistentPartByPartAndExactOnceTheyStop()
    {
        using var h = new GlobalHarness(bytes: 64 * MiB, cpus: 2);
        GlobalAllocator a = h.Allocator;
        int running = 4;
        Exception? failure = null;
        var workers = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try { Work(t); }
            catch (Exception e) { failure = e; }
            finally { Interlocked.Decrement(ref running); }
        })).ToList();
        void Work(int t)
        {
            h.Platform.ThreadProcessor = t % 2;
            var random = new Random(100 + t);
            var live = new List<(nint Pointer, nuint Pages)>();
            for (int step = 0; step < 30_000; step++)
            {
                if (live.Count < 400 && random.Next(2) == 0)
                {
                    if (random.Next(8) == 0)
                    {
                        nuint pages = (nuint)random.Next(1, 20);
                        live.Add(((nint)a.AllocatePages(pages, Page), pages));
                    }
                    else live.Add(((nint)a.Allocate((nuint)random.Next(1, 3000)), 0));
                }
                else if (live.Count > 0)
                {
                    int i = random.Next(live.Count);
                    if (live[i].Pages != 0) a.FreePages((nuint)live[i].Pointer, live[i].Pages);
                    else a.Free((void*)live[i].Pointer);
                    live[i] = live[^1];
                    live.RemoveAt(live.Count - 1);
                }
            }
            foreach (var (pointer, pages) in live)
                if (pages != 0) a.FreePages((nuint)pointer, pages);
                else a.Free((void*)pointer);
        }
        workers.ForEach(w => w.Start());
        int snapshots = 0;
        while (Volatile.Read(ref running) > 0 || snapshots == 0)
        {
            HeapStatistics s = a.GetStatistics();
            snapshots++;
            foreach (SectionStatistics x in s.Sections)       // read under the buddy lock: whole
                Assert.Equal(x.FreePageCount, x.FreeBlocksByOrder.Select((count, order) => count << order).Aggregate((nuint)0, (p, q) => p + q));
            foreach (SizeClassStatistics k in s.SizeClasses)  // each CPU's slabs read under its lock: whole
            {
                Assert.Equal(k.Slabs * (nuint)k.ObjectsPerSlab, k.ObjectsInUse + k.FreeObjects + k.RemoteFrees);
                Assert.Equal(k.Slabs * (nuint)(k.SlabPages * Page), k.SlabBytes);
            }
        }
        workers.ForEach(w => w.Join());
        Assert.Null(failure);
        a.Trim();
        AssertNothingHeld(a.GetStatistics());
        BuddyInspector.CheckInvariants(a.Buddy);
    }

    [Fact]
    public void ASnapshotRacingDisposeEitherCompletesOrSaysTheHeapIsDisposed()
    {
        for (int round = 0; round < 20; round++)
        {
            var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB, PurgeInterval = TimeSpan.Zero });
            var blocks = Enumerable.Range(0, 2000).Select(i => (nint)heap.Allocate((nuint)(16 + i % 500))).ToList();
            Exception? ended = null;
            using var started = new ManualResetEventSlim();
            var reader = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        if (heap.GetStatistics().AllocatedBytes == 0) throw new InvalidOperationException("a snapshot lost the live blocks");
                        started.Set();
                    }
                }
                catch (Exception e)
                {
                    ended = e;
                    started.Set();
                }
            });
            reader.Start();
            started.Wait();
            Thread.Sleep(round % 3);
            heap.Dispose();
            reader.Join();
            Assert.IsType<ObjectDisposedException>(ended);
            GC.KeepAlive(blocks);
        }
    }
}
