namespace BuddySlab.Tests.Allocator;

/// <summary>
/// Frees on CPUs other than the owner, made deterministic by a platform the test steers. Thread caches are off so
/// every free reaches the slab layer at once: these tests are about the slabs' cross-CPU protocol.
/// </summary>
public unsafe class CrossCpuTests : IDisposable
{
    private readonly GlobalHarness _h = new(cpus: 2, threadCaches: false);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void ObjectsAllocatedOnCpu0AndFreedOnCpu1AreDrainedByCpu0()
    {
        var objects = Enumerable.Range(0, 62).Select(_ => (nint)_h.On(0).A().Allocate(64)).ToList();   // one full slab
        nuint slabs = A.Cpu(0).Slabs.SlabCount;
        _h.On(1);
        foreach (nint p in objects) A.Free((void*)p);
        Assert.Equal((nuint)0, A.Cpu(1).Slabs.SlabCount);            // nothing went to CPU 1's caches
        // CPU 0's next allocation of the class drains them and reuses the same slab.
        void* again = _h.On(0).A().Allocate(64);
        Assert.Equal(objects.Min(), (nint)again);
        Assert.Equal(slabs, A.Cpu(0).Slabs.SlabCount);
        A.Free(again);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void AFullSlabFreedPartlyRemotelyThenLocallyEndsOnNoListTwice()
    {
        SizeClass.TryFind(64, 16, out var c);
        var objects = Enumerable.Range(0, c.ObjectsPerSlab * 2).Select(_ => (nint)_h.On(0).A().Allocate(64)).ToList();
        for (int round = 0; round < 5; round++)
        {
            _h.On(1);
            for (int i = 0; i < objects.Count; i += 2) A.Free((void*)objects[i]);
            _h.On(0);
            for (int i = 1; i < objects.Count; i += 2) A.Free((void*)objects[i]);
            var lists = A.Cpu(0).Slabs.CountLists(c.Index);
            Assert.True(lists.Partial + lists.Full + lists.Empty <= 2, $"round {round}: {lists}");
            for (int i = 0; i < objects.Count; i++) objects[i] = (nint)A.Allocate(64);
            Assert.Equal(objects.Count, objects.Distinct().Count());
        }
        _h.On(1);
        foreach (nint p in objects) A.Free((void*)p);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ASlabEmptiedOnlyByRemoteFreesGoesBackAtTheOwnersNextOperation()
    {
        SizeClass.TryFind(256, 16, out var c);
        var first = Enumerable.Range(0, c.ObjectsPerSlab * 3).Select(_ => (nint)_h.On(0).A().Allocate(256)).ToList();
        nuint slabs = A.Cpu(0).Slabs.SlabCount;
        _h.On(1);
        foreach (nint p in first) A.Free((void*)p);
        Assert.Equal(slabs, A.Cpu(0).Slabs.SlabCount);                  // still held: nobody drained yet
        _h.On(0);
        void* p0 = A.Allocate(256);                                      // the owner's next operation on the class
        Assert.Equal((nuint)1, A.Cpu(0).Slabs.SlabCount);                // one slab cached, the others released
        A.Free(p0);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void EveryPageIsRecoveredAfterCrossCpuFreesOfEverything()
    {
        using var h = new GlobalHarness(bytes: 128 << 20, cpus: 4, threadCaches: false);
        var rng = new Random(5);
        var blocks = new List<nint>();
        for (int i = 0; i < 20000; i++)
        {
            h.On(rng.Next(4));
            blocks.Add((nint)h.Allocator.Allocate((nuint)rng.Next(1, 3000)));
        }
        foreach (nint p in blocks)
        {
            h.On(rng.Next(4));
            h.Allocator.Free((void*)p);
        }
        h.AssertAllPagesBack();
    }

    [Fact]
    public void ARemoteDoubleFreeFailsAtTheSecondFree()
    {
        void* p = _h.On(0).A().Allocate(64);
        void* keep = A.Allocate(64);
        _h.On(1);
        A.Free(p);
        var e = Assert.Throws<AllocatorException>(() => A.Free(p));         // still waiting on the remote list
        Assert.Equal(AllocError.NotAllocated, e.Error);
        _h.On(0);
        Assert.Throws<AllocatorException>(() => A.Free(p));                 // the owner also refuses it
        void* q = A.Allocate(64);                                           // drains p
        Assert.Equal((nint)p, (nint)q);
        A.Free(q);
        _h.On(1);
        Assert.Throws<AllocatorException>(() => A.Free(q));                 // freed and drained: the bitmap says free
        _h.On(0);
        A.Free(keep);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void APurgePassDrainsRemoteFreesWhoseOwnerNeverComesBack()
    {
        _h.On(0);
        var objects = Enumerable.Range(0, 300).Select(_ => (nint)A.Allocate(96)).ToList();
        _h.On(1);
        foreach (nint p in objects) A.Free((void*)p);           // all remote: they wait on CPU 0's pending stack
        GlobalAllocator a = A;
        Assert.True(a.Cpu(0).Slabs.HasPending);
        a.PurgeIntervalMilliseconds = 1;
        nuint run = a.AllocatePages(32, 4096);
        a.FreePages(run, 32);
        a.PurgePass();                                          // a pass of a heap in use: it drains what waits
        Assert.False(a.Cpu(0).Slabs.HasPending);
        int cls = BuddySlab.Slab.SizeClassTable.DefaultClassOf(96);
        Assert.Equal((0, 0, 1), a.Cpu(0).Slabs.CountLists(cls));   // every slab emptied: one kept, the rest released
        _h.AssertAllPagesBack();
    }
}

internal static class HarnessSyntax
{
    /// <summary>Reads as "on CPU n, the allocator".</summary>
    public static GlobalAllocator A(this GlobalHarness h) => h.Allocator;
}
