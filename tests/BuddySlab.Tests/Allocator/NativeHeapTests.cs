namespace BuddySlab.Tests.Allocator;

public unsafe class NativeHeapTests
{
    private const nuint MiB = 1 << 20;

    [Fact]
    public void TheHeapGrowsPastItsFirstRegionAndGivesEverythingBack()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB });
        Assert.Equal(1, heap.Allocator.SectionCount);
        Assert.True(heap.ManagedBytes <= 4 * MiB);
        var blocks = new List<nint>();
        for (int i = 0; i < 20_000; i++) blocks.Add((nint)heap.Allocate((nuint)(i % 3000)));   // ~30 MiB
        blocks.Add((nint)heap.Allocate(40 * MiB));                                              // more than all of it so far
        Assert.True(heap.ManagedBytes > 70 * MiB, $"{heap.ManagedBytes} bytes managed");
        Assert.True(heap.ReservedBytes > 70 * MiB);
        // Linux: one reservation grown in place, so every block stays on the fast free path; elsewhere, new regions.
        if (OperatingSystem.IsLinux()) Assert.Equal(1, heap.Allocator.SectionCount);
        else Assert.True(heap.Allocator.SectionCount > 2);
        foreach (nint p in blocks) heap.Free((void*)p);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }

    [Fact]
    public void HeapsCreatedOverReusedMemoryWork()
    {
        // Disposed regions go back to the runtime's allocator and come back, unzeroed, to the next heap.
        for (int round = 0; round < 8; round++)
        {
            using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB });
            var blocks = new List<nint>();
            for (int i = 0; i < 8000; i++) blocks.Add((nint)heap.Allocate((nuint)(i % 3000)));
            blocks.Add((nint)heap.Allocate(20 * MiB));
            foreach (nint p in blocks) heap.Free((void*)p);
            heap.Trim();
            Assert.Equal((nuint)0, heap.AllocatedBytes);
        }
    }

    [Fact]
    public void TrimGivesFreePagesBackToTheOperatingSystem()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        byte* block = (byte*)heap.Allocate(8 * MiB);
        new Span<byte>(block, (int)(8 * MiB)).Fill(0xEE);
        heap.Free(block);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
        byte* again = (byte*)heap.Allocate(8 * MiB);
        Assert.Equal((nint)block, (nint)again);
        if (OperatingSystem.IsLinux())
            Assert.True(new Span<byte>(again, (int)(8 * MiB)).IndexOfAnyExcept((byte)0) < 0, "discarded pages read as zero");
        heap.Free(again);
    }

    [Fact]
    public void OnLinuxWhatTheHeapGrowsIntoIsAdvisedForHugePagesUnlessTurnedOff()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/sys/kernel/mm/transparent_hugepage")) return;
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB, MaxBytes = 256 * MiB });
        using var plain = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB, MaxBytes = 256 * MiB, HugePages = false });
        Assert.True(heap.HugePages);
        Assert.False(plain.HugePages);
        nuint start = heap.Allocator.GetSection(0).Start;
        Assert.False(HasHugePageAdvice(start + MiB));
        Assert.False(HasHugePageAdvice(start + 15 * MiB));
        Assert.True(HasHugePageAdvice(start + 18 * MiB));
        Assert.True(HasHugePageAdvice(start + 64 * MiB));
        nuint plainStart = plain.Allocator.GetSection(0).Start;
        Assert.False(HasHugePageAdvice(plainStart + 64 * MiB));

        // The first InitialBytes are managed from the start; a block past them grows the heap into the huge pages.
        Assert.Equal(16 * MiB, heap.ManagedBytes);
        // The memory behaves as any other: a block up there is usable, freed and trimmed.
        byte* big = (byte*)heap.Allocate(48 * MiB);
        new Span<byte>(big, (int)(48 * MiB)).Fill(0x5A);
        heap.Free(big);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);

        static bool HasHugePageAdvice(nuint address)
        {
            // /proc/self/smaps: a mapping's "lo-hi" line, later its "VmFlags:" line, where "hg" means MADV_HUGEPAGE.
            bool inside = false;
            foreach (string line in File.ReadLines("/proc/self/smaps"))
            {
                int dash = line.IndexOf('-');
                if (dash > 0 && line.Length > dash + 1 && Uri.IsHexDigit(line[0]) && line.IndexOf(' ') > dash)
                {
                    nuint lo = nuint.Parse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber);
                    nuint hi = nuint.Parse(line.AsSpan(dash + 1, line.IndexOf(' ') - dash - 1), System.Globalization.NumberStyles.HexNumber);
                    inside = address >= lo && address < hi;
                }
                else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
                    return line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("hg");
            }
            throw new InvalidOperationException($"no mapping holds 0x{address:x}");
        }
    }

    [Fact]
    public void PagesFreedAndLeftAloneGoBackOnTheClockWithNoCall()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB, PurgeInterval = TimeSpan.FromMilliseconds(30) });
        byte* keep = (byte*)heap.Allocate(1 * MiB);
        byte* block = (byte*)heap.Allocate(4 * MiB);
        var small = new nint[300];
        for (int i = 0; i < small.Length; i++) small[i] = (nint)heap.Allocate(64);
        new Span<byte>(block, (int)(4 * MiB)).Fill(0xEE);
        nuint start = heap.Allocator.GetSection(0).Start;
        nuint residentBefore = SmapsField(start, "Rss:");
        heap.Free(block);
        foreach (nint p in small) heap.Free((void*)p);
        // No call from here on: the clock's passes alone give the block back (MADV_DONTNEED: the resident size drops).
        // The kernel may leave out a few of the pages the Fill faulted in last (pages still in another CPU's LRU batch):
        // a sixty-fourth is allowed for that.
        // The clock serves every heap of the process one after another, so on a loaded machine a pass can come late:
        // the wait allows 10 s for what takes two or three 30 ms intervals on a quiet one.
        nuint wanted = 4 * MiB / 1024 * 63 / 64, residentAfter = residentBefore;
        for (long deadline = Environment.TickCount64 + 10_000; Environment.TickCount64 < deadline && residentAfter + wanted > residentBefore;)
        {
            Thread.Sleep(15);
            residentAfter = SmapsField(start, "Rss:");
        }
        Assert.True(residentAfter + wanted <= residentBefore, $"the block's pages go back: resident {residentBefore} -> {residentAfter} kB");
        heap.Free(keep);

        static nuint SmapsField(nuint start, string field)
        {
            // /proc/self/smaps: each mapping's "lo-hi ..." line, then its fields; sum one field over the mappings
            // that overlap the heap's first 64 MiB of pages (madvise splits the reservation into several).
            bool inside = false;
            nuint total = 0;
            foreach (string line in File.ReadLines("/proc/self/smaps"))
            {
                int dash = line.IndexOf('-'), space = line.IndexOf(' ');
                if (dash > 0 && space > dash && Uri.IsHexDigit(line[0]))
                {
                    nuint lo = nuint.Parse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber);
                    nuint hi = nuint.Parse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber);
                    inside = lo < start + 64 * MiB && hi > start;
                }
                else if (inside && line.StartsWith(field, StringComparison.Ordinal))
                    total += nuint.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim());
            }
            return total;                                   // kB
        }
    }

    [Fact]
    public void TrimGivesBackAddedRegionsThatHoldNothing()
    {
        using var first = new Support.NativeRegion(8 * MiB);
        using var second = new Support.NativeRegion(48 * MiB);     // always holds an aligned 16 MiB block
        var a = new GlobalAllocator();
        a.Init(first.Pointer, first.Size);
        a.AddRegion(second.Pointer, second.Size);
        var released = new List<(nuint, nuint)>();
        a.RegionSource = new DelegateRegionSource { Release = (start, bytes) => released.Add((start, bytes)) };
        nuint managedBefore = a.ManagedBytes;

        void* big = a.Allocate(12 * MiB);                      // only the second region can hold it
        Assert.InRange((nuint)big, second.Address, second.Address + second.Size);
        a.Trim();
        Assert.Empty(released);                                // in use: kept
        a.Free(big);
        a.Trim();
        Assert.Equal([(second.Address, second.Size)], released);
        Assert.Equal(1, a.SectionCount);
        Assert.True(a.ManagedBytes < managedBefore);
        Assert.Equal(AllocError.NotFound, Assert.Throws<AllocatorException>(() => a.Free(big)).Error);
        a.Free(a.Allocate(100));                               // the first region goes on serving
        a.Trim();
        Assert.Equal((nuint)0, a.AllocatedBytes);
    }

    [Fact]
    public void MaxBytesIsNeverExceeded()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB, MaxBytes = 16 * MiB });
        var blocks = new List<nint>();
        while (heap.TryAllocate(64 * 1024, 16, out void* p)) blocks.Add((nint)p);
        Assert.True(heap.ReservedBytes <= 16 * MiB, $"{heap.ReservedBytes} bytes reserved");
        Assert.True(blocks.Count * 64 * 1024 > 8 * (int)MiB, "it did grow towards the limit");
        var e = Assert.Throws<AllocatorException>(() => heap.Allocate(64 * 1024));
        Assert.Equal(AllocError.NoMemory, e.Error);
        // Small objects still come from what is left, and freed memory is reused.
        heap.Free((void*)blocks[0]);
        heap.Free(heap.Allocate(64 * 1024));
    }

    [Fact]
    public void DisposeReturnsTheRegionsAndEveryLaterUseIsRefused()
    {
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 * MiB });
        void* p = heap.Allocate(100);
        heap.Dispose();
        Assert.Equal((nuint)0, heap.ReservedBytes);
        var e = Assert.Throws<ObjectDisposedException>(() => heap.Allocate(10));
        Assert.Contains("disposed", e.Message);
        Assert.Throws<ObjectDisposedException>(() => heap.Free(p));
        Assert.Throws<ObjectDisposedException>(() => heap.Trim());
        heap.Dispose();   // harmless
    }

    [Fact]
    public void OptionsAreValidated()
    {
        Assert.Throws<ArgumentException>(() => new NativeHeap(new NativeHeapOptions { InitialBytes = 32 * MiB, MaxBytes = 16 * MiB }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NativeHeap(new NativeHeapOptions { PurgeInterval = TimeSpan.FromSeconds(-1) }));
        using var capped = new NativeHeap(new NativeHeapOptions { MaxBytes = 8 * MiB });      // the default initial size shrinks to fit
        Assert.True(capped.ReservedBytes <= 8 * MiB);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NativeHeap(new NativeHeapOptions { PageSize = 3000 }));
        using var bigPages = new NativeHeap(new NativeHeapOptions { PageSize = 16384, InitialBytes = 4 * MiB });
        Assert.Equal(16384, bigPages.Allocator.PageSize);
        bigPages.Free(bigPages.Allocate(5000));
    }

    [Fact]
    public void TheHeapTellsItsPurgeInterval()
    {
        using var often = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB, PurgeInterval = TimeSpan.FromMilliseconds(250) });
        using var never = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB, PurgeInterval = TimeSpan.Zero });
        using var usual = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB });
        Assert.Equal((TimeSpan.FromMilliseconds(250), TimeSpan.Zero, TimeSpan.FromSeconds(1)),
            (often.PurgeInterval, never.PurgeInterval, usual.PurgeInterval));
    }

    [Fact]
    public void TheSharedCachesHoldNoMoreThanTheirBudgetPerCpu()
    {
        static nuint SharedCacheBytes(NativeHeap heap, int cpus)
        {
            var blocks = new nint[100_000];
            for (int i = 0; i < blocks.Length; i++) blocks[i] = (nint)heap.Allocate(64);
            for (int i = 0; i < blocks.Length; i++) heap.Free((void*)blocks[i]);
            for (int i = 0; i < 200; i++) heap.Free(heap.Allocate(4096 * (nuint)(1 + i % 8)));
            HeapCacheStatistics c = heap.GetStatistics().Caches;
            return c.CpuDepotBytes + c.SharedDepotBytes + c.CpuPageRunBytes;
        }
        int cpus = Environment.ProcessorCount;
        using var usual = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 * MiB, PurgeInterval = TimeSpan.Zero });
        using var none = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 * MiB, PurgeInterval = TimeSpan.Zero, SharedCacheBytesPerCpu = 0 });
        Assert.Equal((nuint)(2 << 20), usual.Allocator.SharedCacheBytesPerCpu);
        Assert.Equal((nuint)0, none.Allocator.SharedCacheBytesPerCpu);
        Assert.Equal(((long)cpus * (2 << 20), 0L), (usual.Allocator.CacheBudgetBytes.Limit, none.Allocator.CacheBudgetBytes.Limit));
        Assert.NotEqual((nuint)0, SharedCacheBytes(usual, cpus));      // 100,000 frees overflow the thread's magazines
        Assert.Equal((nuint)0, SharedCacheBytes(none, cpus));          // with no budget, what overflows goes to the slabs
        none.Allocator.SharedCacheBytesPerCpu = 256 << 10;
        Assert.Equal((long)cpus * (256 << 10), none.Allocator.CacheBudgetBytes.Limit);
        Assert.InRange(SharedCacheBytes(none, cpus), (nuint)0, (nuint)(cpus * (256 << 10)));
        Assert.Throws<AllocatorException>(() => none.Allocator.SharedCacheBytesPerCpu = (nuint)1 << 41);
    }

    [Fact]
    public void TheSharedHeapIsReadyAndCannotBeDisposed()
    {
        void* p = NativeHeap.Shared.Allocate(64);
        Assert.Equal((nuint)64, NativeHeap.Shared.UsableSize(p));
        NativeHeap.Shared.Free(p);
        Assert.Same(NativeHeap.Shared, NativeHeap.Shared);
        Assert.Throws<InvalidOperationException>(() => NativeHeap.Shared.Dispose());
    }
}
