namespace BuddySlab.Tests.Allocator;

/// <summary>
/// Memory that follows the live set: what caches hold once the program stops needing it comes back on its own, with no
/// <c>Trim()</c>, and without waiting for a GC or for the owner of a slab to come back.
/// </summary>
public unsafe class MemoryFollowsTheLiveSetTests
{
    private const nuint MiB = 1 << 20;

    [Fact]
    public void ObjectsFreedOnAnotherCpuDoNotStayStrandedOnTheirOwnersSlabs()
    {
        // 50,000 objects made on CPU 0 and freed on CPU 1, then CPU 0 lives on its magazines alone: its slab allocator is
        // never called again, so only the freeing side can drain what it handed over.
        using var h = new GlobalHarness(bytes: 64 * MiB, cpus: 2);
        GlobalAllocator a = h.Allocator;
        var objects = new nint[50_000];
        var owner = new Thread(() =>
        {
            h.Platform.ThreadProcessor = 0;
            for (int i = 0; i < objects.Length; i++) objects[i] = (nint)a.Allocate(64);
        });
        owner.Start();
        owner.Join();
        var freer = new Thread(() =>
        {
            h.Platform.ThreadProcessor = 1;
            foreach (nint p in objects) a.Free((void*)p);
        });
        freer.Start();
        freer.Join();
        h.Platform.ThreadProcessor = 0;
        for (int i = 0; i < 10_000; i++) a.Free(a.Allocate(64));
        // What may stay: the freeing thread's two magazines, CPU 1's depot and the shared depot (a few hundred objects),
        // and a slab or two. Stranded on CPU 0's slabs, the 50,000 objects held 3.2 MiB.
        nuint counted = a.AllocatedBytes - h.StartAllocatedBytes;
        Assert.True(counted <= MiB / 2, $"{counted} bytes still counted after every object was freed");
    }

    [Fact]
    public void ADeadThreadsCachesComeBackWithinAPurgeIntervalWithoutAGc()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 64 * MiB, PurgeInterval = TimeSpan.FromMilliseconds(100) });
        nuint before = heap.AllocatedBytes;
        Assert.True(GC.TryStartNoGCRegion(64 << 20), "no GC region");
        try
        {
            var threads = new Thread[16];
            for (int t = 0; t < threads.Length; t++)
            {
                int seed = t;
                threads[t] = new Thread(() =>
                {
                    var random = new Random(seed);
                    var live = new nint[400];
                    for (int i = 0; i < live.Length; i++) live[i] = (nint)heap.Allocate((nuint)random.Next(8, 40_000));
                    foreach (nint p in live) heap.Free((void*)p);     // everything lands in this thread's caches
                });
                threads[t].Start();
            }
            foreach (Thread thread in threads) thread.Join();
            Assert.True(heap.AllocatedBytes > before, "the exited threads left their caches full");
            // No call into the heap from here on, and no GC: the clock finds the threads dead and takes their caches.
            var deadline = Environment.TickCount64 + 2_000;
            while (heap.AllocatedBytes > before + MiB && Environment.TickCount64 < deadline) Thread.Sleep(20);
            Assert.True(heap.AllocatedBytes <= before + MiB, $"{heap.AllocatedBytes - before} bytes still counted 2 s after the threads exited");
        }
        finally
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
    }

    [Fact]
    public void AnIdleHeapReturnsItsMemoryWithNoCall()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 * MiB, PurgeInterval = TimeSpan.FromMilliseconds(50) });
        var random = new Random(7);
        var live = new List<nint>();
        for (int i = 0; i < 20_000; i++) live.Add((nint)heap.Allocate((nuint)random.Next(8, 20_000)));
        foreach (nint p in live) heap.Free((void*)p);
        nuint cached = heap.CachedBytes;
        Assert.True(cached > 0, "the frees left something in the caches");
        // No call from here on (the statistics below only read): within a few intervals everything is back in the buddy.
        var deadline = Environment.TickCount64 + 2_000;
        while (heap.AllocatedBytes != 0 && Environment.TickCount64 < deadline) Thread.Sleep(10);
        Assert.Equal((nuint)0, heap.AllocatedBytes);
        Assert.Equal((nuint)0, heap.CachedBytes);
    }

    [Fact]
    public void CachedBytesIsWhatTheCachesHoldInsideAllocatedBytes()
    {
        using var h = new GlobalHarness(bytes: 32 * MiB, cpus: 1);
        GlobalAllocator a = h.Allocator;
        Assert.Equal((nuint)0, a.CachedBytes);
        void* p = a.Allocate(64);
        nuint run = a.AllocatePages(2, 4096);
        a.Free(p);                                          // into this thread's magazine
        a.FreePages(run, 2);                                // onto this thread's stack of 2-page runs
        Assert.Equal((nuint)(64 + 2 * 4096), a.CachedBytes - a.Cpu(0).Slabs.CachedEmptySlabBytes);
        a.Trim();
        Assert.Equal((nuint)0, a.CachedBytes);
        Assert.Equal((nuint)0, a.AllocatedBytes);
    }
}
