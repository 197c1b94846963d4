namespace BuddySlab.Tests.Allocator;

/// <summary>Purge passes: free page runs go back to the OS once they have stayed free for a whole interval.</summary>
public unsafe class PurgeTests : IDisposable
{
    private readonly GlobalHarness _h = new(bytes: 32 << 20);
    private readonly List<(nuint Address, nuint Bytes)> _discarded = [];
    private GlobalAllocator A => _h.Allocator;

    public PurgeTests()
    {
        A.RegionSource = new DelegateRegionSource
        {
            Discard = (address, bytes) => _discarded.Add((address, bytes)),
        };
        A.PurgeIntervalMilliseconds = 500;                  // passes on; the tests run them by hand, at exact moments
    }

    public void Dispose() => _h.Dispose();

    private nuint FreeBytesInBlocksOf16PagesOrMore()
    {
        nuint total = 0;
        for (int i = 0; i < A.Buddy.SectionCount; i++)
            foreach (var b in BuddyInspector.FreeBlocks(A.Buddy, i))
                if (b.Order >= 4) total += (nuint)4096 << b.Order;
        return total;
    }

    [Fact]
    public void ABlockGoesBackAtTheSecondPassThatFindsItFreeAndOnlyOnce()
    {
        nuint a = A.AllocatePages(64, 4096);
        nuint b = A.AllocatePages(64, 4096);
        A.FreePages(a, 64);
        A.PurgePass();                                      // first pass: every free block is only marked
        Assert.Empty(_discarded);
        A.FreePages(b, 64);                                 // no pass: nothing happens
        Assert.Empty(_discarded);
        nuint c = A.AllocatePages(64, 4096);
        A.FreePages(c, 64);
        A.PurgePass();                                      // second pass: what the first pass saw free and is still free goes
        nuint once = _discarded.Aggregate((nuint)0, (sum, d) => sum + d.Bytes);
        Assert.True(once > 0);
        Assert.True(once <= FreeBytesInBlocksOf16PagesOrMore());
        Assert.DoesNotContain(_discarded, d => c >= d.Address && c < d.Address + d.Bytes);   // c was just freed
        int count = _discarded.Count;
        nuint e = A.AllocatePages(20, 4096);
        A.FreePages(e, 20);
        A.PurgePass();                                      // third pass: nothing twice
        foreach (var d in _discarded.Skip(count))
            Assert.DoesNotContain(_discarded.Take(count), old => old.Address == d.Address && old.Bytes == d.Bytes);
        A.Trim();                                           // Trim gives back the rest
        nuint all = _discarded.Aggregate((nuint)0, (sum, d) => sum + d.Bytes);
        Assert.True(all >= FreeBytesInBlocksOf16PagesOrMore());
        Assert.Equal((nuint)0, A.AllocatedBytes);
        BuddyInspector.CheckInvariants(A.Buddy);
    }

    [Fact]
    public void WithoutAnIntervalOnlyTrimGivesPagesBack()
    {
        A.PurgeIntervalMilliseconds = 0;
        nuint a = A.AllocatePages(64, 4096);
        A.FreePages(a, 64);
        Thread.Sleep(20);
        nuint b = A.AllocatePages(64, 4096);
        A.FreePages(b, 64);
        Assert.Empty(_discarded);
        A.Trim();
        Assert.NotEmpty(_discarded);
    }

    [Fact]
    public void AnAddedRegionFreeAtTwoPassesInARowIsReleasedWhole()
    {
        using var h = new GlobalHarness(bytes: 4 << 20);
        GlobalAllocator a = h.Allocator;
        var released = new List<(nuint Start, nuint Bytes)>();
        a.RegionSource = new DelegateRegionSource { Release = (start, bytes) => released.Add((start, bytes)) };
        a.PurgeIntervalMilliseconds = 500;                  // passes on; run here by hand
        using var extra = new NativeRegion(64 << 20);
        a.AddRegion(extra.Pointer, extra.Size);
        Assert.Equal(2, a.SectionCount);
        void PageFreeAndPass()
        {
            nuint small = a.AllocatePages(32, 4096);       // the heap is in use, so the pass is not an idle heap's trim
            a.FreePages(small, 32);
            a.PurgePass();
        }

        nuint big = a.AllocatePages(4096, 4096);            // 16 MiB: only the added region has room
        Assert.True(big >= extra.Address && big < extra.Address + extra.Size);
        a.FreePages(big, 4096);
        a.PurgePass();                                      // a pass: the added region is entirely free
        Assert.Empty(released);
        nuint again = a.AllocatePages(4096, 4096);          // used again before the next pass: it stays
        PageFreeAndPass();
        Assert.Empty(released);
        a.FreePages(again, 4096);
        PageFreeAndPass();                                  // a pass: free now, but not at the previous pass
        Assert.Empty(released);
        PageFreeAndPass();                                  // free at two passes in a row: released
        Assert.Equal([(extra.Address, extra.Size)], released);
        Assert.Equal(1, a.SectionCount);
        a.Trim();
        Assert.Equal((nuint)0, a.AllocatedBytes);
        BuddyInspector.CheckInvariants(a.Buddy);
    }

    [Fact]
    public void APassAfterTheOnlyThreadsThatUsedTheHeapExitedGivesEverythingBackAtOnce()
    {
        void Work()
        {
            var blocks = new List<nint>();
            var runs = new List<(nuint Address, nuint Pages)>();
            for (int i = 0; i < 3000; i++) blocks.Add((nint)A.Allocate((nuint)(16 + i % 40 * 48)));
            for (int i = 0; i < 40; i++) runs.Add((A.AllocatePages((nuint)(1 + i % 12), 4096), (nuint)(1 + i % 12)));
            foreach (nint p in blocks) A.Free((void*)p);
            foreach (var (address, pages) in runs) A.FreePages(address, pages);
        }
        void RunAndExit()
        {
            var thread = new Thread(Work);
            thread.Start();
            thread.Join();
        }

        RunAndExit();
        A.FlushThreadCache();                               // a live thread's call in the same interval: the heap is in use
        A.PurgePass();
        Assert.True(A.AllocatedBytes > _h.StartAllocatedBytes);   // the exited thread's cache only went down to the CPU's
        A.PurgePass();                                      // a whole interval with no call: idle, everything goes
        Assert.Equal(_h.StartAllocatedBytes, A.AllocatedBytes);

        RunAndExit();
        Assert.True(A.CachedBytes > 0);
        A.PurgePass();                                      // pages were used, but only by a thread that has exited since
        Assert.Equal(_h.StartAllocatedBytes, A.AllocatedBytes);
        Assert.Equal((nuint)0, A.CachedBytes);
        BuddyInspector.CheckInvariants(A.Buddy);
    }

    [Fact]
    public void PassesGiveTheBuddyThePageRunsACpuCacheDidNotNeedForAWholeInterval()
    {
        using var h = new GlobalHarness(bytes: 32 << 20, threadCaches: false);   // frees go straight to the CPU's cache
        GlobalAllocator a = h.Allocator;
        a.PurgeIntervalMilliseconds = 500;                  // reaping on: a length may hold 1 MiB (256 one-page runs)
        var runs = new List<nuint>();
        for (int i = 0; i < 100; i++) runs.Add(a.AllocatePages(1, 4096));
        foreach (nuint run in runs) a.FreePages(run, 1);
        Assert.Equal(h.StartAllocatedBytes + 100 * 4096, a.AllocatedBytes);     // all 100 parked (64 without reaping)

        a.PurgePass();                                      // the first pass only starts the interval
        Assert.Equal(h.StartAllocatedBytes + 100 * 4096, a.AllocatedBytes);
        nuint used = a.AllocatePages(1, 4096);              // 99 at the lowest
        a.FreePages(used, 1);
        a.PurgePass();                                      // the 99 runs no one needed go back; the one in use stays
        Assert.Equal(h.StartAllocatedBytes + 4096, a.AllocatedBytes);
        a.PurgePass();                                      // and it goes a whole interval later
        Assert.Equal(h.StartAllocatedBytes, a.AllocatedBytes);
        BuddyInspector.CheckInvariants(a.Buddy);
    }
}
