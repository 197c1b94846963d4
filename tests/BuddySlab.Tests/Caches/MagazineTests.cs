namespace BuddySlab.Tests.Caches;

/// <summary>The per-thread magazines in front of the slabs: safety and memory recovery.</summary>
public unsafe class MagazineTests : IDisposable
{
    private readonly GlobalHarness _h = new(bytes: 64 << 20);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void ASecondFreeOnTheSameThreadIsCaughtWhileTheObjectSitsInAMagazine()
    {
        void* p = A.Allocate(64);
        void* q = A.Allocate(64);
        A.Free(p);
        var e = Assert.Throws<AllocatorException>(() => A.Free(p));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.Contains("double free", e.Message);
        Assert.Throws<AllocatorException>(() => A.Free(p, 64, 16));
        Assert.Throws<AllocatorException>(() => A.UsableSize(p));
        Assert.Throws<AllocatorException>(() => A.Reallocate(p, 100));
        // The magazine is intact: p comes back exactly once.
        void* again = A.Allocate(64);
        Assert.Equal((nint)p, (nint)again);
        Assert.NotEqual((nint)q, (nint)A.Allocate(64));
        A.Free(again);
        A.Free(q);
    }

    [Fact]
    public void ASecondFreeIsCaughtAfterTheObjectMovedToADepotOrBackToItsSlab()
    {
        var objects = Enumerable.Range(0, 2000).Select(_ => (nint)A.Allocate(48)).ToList();
        foreach (nint p in objects) A.Free((void*)p);        // fills magazines, depots, and flushes to the slabs
        foreach (nint p in objects.Take(300).Concat(objects.TakeLast(300)))
        {
            var e = Assert.Throws<AllocatorException>(() => A.Free((void*)p));
            Assert.Equal(AllocError.NotAllocated, e.Error);
        }
        // Nothing was handed out twice afterwards.
        var again = Enumerable.Range(0, 2000).Select(_ => (nint)A.Allocate(48)).ToList();
        Assert.Equal(2000, again.Distinct().Count());
        foreach (nint p in again) A.Free((void*)p);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ObjectsInMagazinesCountAsAllocatedUntilFlushedOrTrimmed()
    {
        var objects = Enumerable.Range(0, 10).Select(_ => (nint)A.Allocate(100)).ToList();
        foreach (nint p in objects) A.Free((void*)p);
        Assert.True(A.AllocatedBytes > 0);
        A.FlushThreadCache();
        A.Trim();
        Assert.Equal((nuint)0, A.AllocatedBytes);
    }

    [Fact]
    public void AThreadThatExitsWithFullMagazinesIsRecovered()
    {
        var worker = new Thread(() =>
        {
            var objects = Enumerable.Range(0, 5000).Select(i => (nint)A.Allocate((nuint)(i % 700))).ToList();
            foreach (nint p in objects) A.Free((void*)p);
        });
        worker.Start();
        worker.Join();
        Assert.True(A.AllocatedBytes > 0, "the exited thread's magazines still hold objects");
        ExitedThreads.RecoverCachesAndTrim(A);
        Assert.Equal((nuint)0, A.AllocatedBytes);
    }

    [Fact]
    public void AThreadThatOnlyFreesStrandsNoMoreThanItsCaches()
    {
        var objects = Enumerable.Range(0, 200_000).Select(_ => (nint)A.Allocate(64)).ToList();
        nuint peak = A.AllocatedBytes;
        var consumer = new Thread(() =>
        {
            foreach (nint p in objects) A.Free((void*)p);
            A.FlushThreadCache();
        });
        consumer.Start();
        consumer.Join();
        // The allocating thread's next operation on the class drains the remote frees and gives the slabs back.
        A.Free(A.Allocate(64));
        nuint left = A.AllocatedBytes;
        Assert.True(left < peak / 20, $"{left} of {peak} bytes still held");
    }

    [Fact]
    public void ADisposedHeapRefusesThreadsThatStillHoldItsMagazines()
    {
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 << 20 });
        heap.Free(heap.Allocate(32));                 // this thread now has magazines for the heap
        heap.Dispose();
        Assert.Throws<ObjectDisposedException>(() => heap.Allocate(32));
        Assert.Throws<ObjectDisposedException>(() => heap.Allocate(32, 16));
    }

    [Fact]
    public void AThreadWhoseHeapWasDisposedTakesTheNextHeapsMagazines()
    {
        var first = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 << 20 });
        first.Free(first.Allocate(48));               // the thread's fast paths now point at the first heap's cache
        ThreadHeap stale = first.ForCurrentThread();
        first.Dispose();
        using var second = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 << 20 });
        for (int i = 0; i < 300; i++) second.Free(second.Allocate(48));   // through magazine exchanges and back
        void* p = second.Allocate(48);
        Assert.Throws<ObjectDisposedException>(() => first.Allocate(48));
        Assert.Throws<ObjectDisposedException>(() => stale.Allocate(48));
        second.Free(p);
        Assert.Throws<AllocatorException>(() => second.Free(p));
    }

    [Fact]
    public void AThreadCachesBlockIsFreedOnlyOnceTheThreadAndTheAllocatorBothLetGo()
    {
        var table = SizeClassTable.For(4096);
        var byAllocatorFirst = new ThreadCache(A, A.Token, table);
        byAllocatorFirst.Destroy();                   // the allocator is done (disposed): the fast paths must miss now
        Assert.Equal((nint)0, byAllocatorFirst.Block->Owner);
        Assert.False(byAllocatorFirst.BlockFreed);     // the thread may still read it
        byAllocatorFirst.ReleaseBlock();              // the thread exited
        Assert.True(byAllocatorFirst.BlockFreed);

        var byThreadFirst = new ThreadCache(A, A.Token, table);
        Assert.Equal(A.Token, byThreadFirst.Block->Owner);
        byThreadFirst.ReleaseBlock();                 // the thread exited; its orphaned cache is still the allocator's to flush
        Assert.False(byThreadFirst.BlockFreed);
        Assert.Equal(A.Token, byThreadFirst.Block->Owner);
        byThreadFirst.Destroy();
        Assert.True(byThreadFirst.BlockFreed);
    }

    [Fact]
    public void PurgePassesRacingTradesThatShelveMagazinesLeaveTheThreadSoundMagazines()
    {
        const int cls = 4;                                             // 64 bytes
        int perMagazine = Magazine.CapacityFor(64);
        A.PurgeIntervalMilliseconds = 1;                               // the shared depot is purged, by the clock's passes
        A.StartClock();
        var objects = new List<nint>();
        for (int i = 0; i < perMagazine * 10; i++) objects.Add((nint)A.Allocate(64));
        // Enough frees to fill both magazines, the CPU depot (4) and then the shared depot.
        int first = perMagazine * 8;
        for (int i = 0; i < first; i++) A.Free((void*)objects[i]);
        Assert.True(A.SharedDepotFullCount(cls) > 0);
        A.PurgePass();                                                 // the shelf's full magazines are now "unneeded since"
        for (int i = first; i < objects.Count; i++) A.Free((void*)objects[i]);   // passes run meanwhile on the clock
        Assert.Equal((perMagazine, perMagazine), A.MagazineCapacities(cls));
        for (int i = 0; i < perMagazine * 4; i++) A.Free(A.Allocate(64));
        A.StopClock();
        A.PurgeIntervalMilliseconds = 0;
    }

    [Fact]
    public void AnEightByteObjectFreedOnAnotherCpuGoesBackToItsSlabInsteadOfTheFreeingThreadsMagazine()
    {
        nint tiny = 0, small = 0;
        OnCpu(0, () => { tiny = (nint)A.Allocate(8); small = (nint)A.Allocate(64); });
        nint tinyAgain = 0, smallAgain = 0;
        OnCpu(1, () =>
        {
            A.Free((void*)tiny, 8, 8);
            A.Free((void*)small, 64, 16);
            tinyAgain = (nint)A.Allocate(8);               // a fresh one from CPU 1's slabs: not on tiny's cache line
            smallAgain = (nint)A.Allocate(64);             // from this thread's magazine: the object it just freed
            Assert.Throws<AllocatorException>(() => A.Free((void*)tiny, 8, 8));   // waiting on its slab's remote list
            A.Free((void*)tinyAgain, 8, 8);
            A.Free((void*)smallAgain, 64, 16);
        });
        Assert.Empty(_failures);
        Assert.NotEqual(tiny / 64, tinyAgain / 64);
        Assert.Equal(small, smallAgain);
    }

    [Fact]
    public void TwoHeapsUsedAlternatelyByOneThreadKeepTheirObjectsApart()
    {
        using var other = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 << 20 });
        for (int i = 0; i < 1000; i++)
        {
            void* a = A.Allocate(64);
            void* b = other.Allocate(64);
            Assert.Throws<AllocatorException>(() => other.Free(a));
            A.Free(a);
            other.Free(b);
        }
        other.Trim();
        Assert.Equal((nuint)0, other.AllocatedBytes);
    }

    private readonly List<Exception> _failures = [];

    /// <summary>Runs <paramref name="work"/> on a new thread that reports CPU <paramref name="cpu"/>, and waits for it;
    /// an exception there lands in <see cref="_failures"/>.</summary>
    private void OnCpu(int cpu, Action work)
    {
        var t = new Thread(() =>
        {
            _h.Platform.ThreadProcessor = cpu;
            try { work(); }
            catch (Exception e) { lock (_failures) _failures.Add(e); }
        });
        t.Start();
        t.Join();
    }

    [Fact]
    public void AConsumersFullMagazinesReachItsProducerOnAnotherCpuThroughTheSharedDepot()
    {
        // 64-byte objects. A producer on CPU 0 allocates, a consumer on CPU 1 frees them all: its two magazines fill,
        // its CPU depot takes 4 full ones, the shared depot 4 more, and the rest goes back to the slabs.
        int perMagazine = Magazine.CapacityFor(64);
        int N = perMagazine * 32;
        int cls = SizeClassTable.DefaultClassOf(64);
        var produced = new HashSet<nint>();

        OnCpu(0, () => { for (int i = 0; i < N; i++) produced.Add((nint)A.Allocate(64)); });
        OnCpu(1, () =>
        {
            foreach (nint p in produced) A.Free((void*)p);
            foreach (nint p in produced.Take(50))                   // wherever they sit, a second free is caught
                Assert.Throws<AllocatorException>(() => A.Free((void*)p));
        });
        Assert.Equal(4, A.SharedDepotFullCount(cls));

        // A fresh thread on CPU 0 gets four whole magazines of the consumer's objects from the shared depot.
        OnCpu(0, () =>
        {
            var again = Enumerable.Range(0, 4 * perMagazine).Select(_ => (nint)A.Allocate(64)).ToList();
            Assert.Equal(0, A.SharedDepotFullCount(cls));
            Assert.All(again, p => Assert.Contains(p, produced));
            foreach (nint p in again) A.Free((void*)p);
            A.FlushThreadCache();
        });
        Assert.Empty(_failures);
        ExitedThreads.RecoverCachesAndTrim(A);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void AnObjectWaitingOnItsOwnersRemoteListIsRefusedEverywhere()
    {

        var objects = new List<nint>();
        OnCpu(0, () =>
        {
            for (int i = 0; i < 10; i++) objects.Add((nint)A.Allocate(48));
            A.FlushThreadCache();
        });
        OnCpu(1, () =>
        {
            foreach (nint p in objects) A.Free((void*)p);
            A.FlushThreadCache();                               // pushed on CPU 0's remote lists, each with its free mark
            foreach (nint p in objects)
            {
                Assert.Equal(AllocError.NotAllocated, Assert.Throws<AllocatorException>(() => A.Free((void*)p)).Error);
                Assert.Throws<AllocatorException>(() => A.Free((void*)p, 48, 16));
            }
        });
        _h.Platform.ThreadProcessor = 0;
        foreach (nint p in objects) Assert.Throws<AllocatorException>(() => A.Free((void*)p));
        Assert.Empty(_failures);
        ExitedThreads.RecoverCachesAndTrim(A);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void WithPurgePassesTheSharedDepotHoldsMoreAndGivesBackWhatNoThreadTook()
    {
        A.PurgeIntervalMilliseconds = 3_600_000;        // passes on (so the shelf may grow), but run here by hand
        int perMagazine = Magazine.CapacityFor(64);
        int cls = SizeClassTable.DefaultClassOf(64);
        var objects = new List<nint>();
        OnCpu(0, () => { for (int i = 0; i < perMagazine * 20; i++) objects.Add((nint)A.Allocate(64)); });
        OnCpu(1, () => { foreach (nint p in objects) A.Free((void*)p); });
        // 20 magazines: 2 stay with the thread, 4 in CPU 1's depot, the other 14 on the shared shelf (beyond its
        // limit of 4 without passes).
        Assert.Equal(14, A.SharedDepotFullCount(cls));
        // The threads above have exited: a live thread's call keeps the heap in use, or a pass would find it idle and
        // flush every cache at once.
        A.FlushThreadCache();
        A.PurgePass();                                  // the interval starts with 14 on the shelf
        Assert.Equal(14, A.SharedDepotFullCount(cls));
        OnCpu(0, () => { for (int i = 0; i < perMagazine * 3; i++) objects.Add((nint)A.Allocate(64)); });
        Assert.Equal(11, A.SharedDepotFullCount(cls));   // three taken meanwhile
        A.FlushThreadCache();
        A.PurgePass();                                  // the 11 nobody took go back to the slabs
        Assert.Equal(0, A.SharedDepotFullCount(cls));
        A.PurgePass();
        Assert.Empty(_failures);
        foreach (nint p in objects.Skip(perMagazine * 20)) A.Free((void*)p);
        ExitedThreads.RecoverCachesAndTrim(A);
        _h.AssertAllPagesBack();
    }
}
