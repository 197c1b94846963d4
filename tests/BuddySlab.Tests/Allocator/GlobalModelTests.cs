namespace BuddySlab.Tests.Allocator;

/// <summary>
/// Random allocations, reallocations and frees on random CPUs against a model of live blocks; every block carries
/// a pattern checked before it is freed, so overlap or metadata written into user memory is caught.
/// </summary>
public unsafe class GlobalModelTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(3, 4)]
    public void RandomOperationsKeepEveryBlockIntactAndDisjoint(int seed, int cpus)
    {
        using var h = new GlobalHarness(bytes: 96 << 20, cpus: cpus);
        var a = h.Allocator;
        var rng = new Random(seed);
        var live = new List<(nint P, nuint Size, nuint Alignment, byte Stamp)>();
        var ranges = new List<(nuint Start, nuint End)>();   // sorted by start, to catch overlap

        void Check((nint P, nuint Size, nuint Alignment, byte Stamp) b)
        {
            var span = new Span<byte>((void*)b.P, (int)b.Size);
            int bad = span.IndexOfAnyExcept(b.Stamp);
            Assert.True(bad < 0, $"block 0x{b.P:x} of {b.Size} bytes corrupted at offset {bad}");
        }
        int Find(nuint start)
        {
            int lo = 0, hi = ranges.Count;
            while (lo < hi) { int mid = (lo + hi) / 2; if (ranges[mid].Start < start) lo = mid + 1; else hi = mid; }
            return lo;
        }
        void Track(nint p, nuint size)
        {
            nuint start = (nuint)p, end = start + Math.Max(size, 1);
            int at = Find(start);
            if (at > 0) Assert.True(ranges[at - 1].End <= start, $"0x{start:x} overlaps the block at 0x{ranges[at - 1].Start:x}");
            if (at < ranges.Count) Assert.True(ranges[at].Start >= end, $"0x{start:x}..0x{end:x} overlaps the block at 0x{ranges[at].Start:x}");
            ranges.Insert(at, (start, end));
        }
        void Untrack(nint p) => ranges.RemoveAt(Find((nuint)p));

        for (int step = 0; step < 30_000; step++)
        {
            h.On(rng.Next(cpus));
            int op = rng.Next(100);
            if (live.Count == 0 || op < 50)
            {
                nuint size = (nuint)(rng.Next(10) == 0 ? rng.Next(2049, 40000) : (int)Math.Pow(2, rng.NextDouble() * 11));
                if (rng.Next(50) == 0) size = 0;
                nuint alignment = (nuint)1 << (rng.Next(4) == 0 ? rng.Next(0, 14) : 3 + rng.Next(2));
                void* p = a.Allocate(size, alignment);
                Assert.Equal((nuint)0, (nuint)p % alignment);
                Assert.True(a.UsableSize(p) >= size);
                byte stamp = (byte)rng.Next(1, 256);
                new Span<byte>(p, (int)size).Fill(stamp);
                Track((nint)p, size);
                live.Add(((nint)p, size, alignment, stamp));
            }
            else if (op < 60)
            {
                int i = rng.Next(live.Count);
                var b = live[i];
                Check(b);
                nuint newSize = (nuint)rng.Next(0, 9000);
                Untrack(b.P);
                void* p = a.Reallocate((void*)b.P, newSize);
                var kept = new Span<byte>(p, (int)Math.Min(b.Size, newSize));
                Assert.True(kept.IndexOfAnyExcept(b.Stamp) < 0, "reallocation kept the contents");
                new Span<byte>(p, (int)newSize).Fill(b.Stamp);
                Track((nint)p, newSize);
                live[i] = ((nint)p, newSize, newSize >= 16 ? 16u : 8u, b.Stamp);   // a reallocated block has the default alignment
            }
            else
            {
                int i = rng.Next(live.Count);
                var b = live[i];
                Check(b);
                Untrack(b.P);
                if (rng.Next(2) == 0) a.Free((void*)b.P, b.Size, b.Alignment);
                else a.Free((void*)b.P);
                live[i] = live[^1];
                live.RemoveAt(live.Count - 1);
            }
            if (step % 5000 == 0) BuddyInspector.CheckInvariants(a.Buddy);
        }
        foreach (var b in live)
        {
            Check(b);
            a.Free((void*)b.P);
        }
        h.AssertAllPagesBack();
    }
}
