namespace BuddySlab.Tests.Buddy;

/// <summary>
/// Random allocate/free sequences checked step by step against a reference model that keeps one bit per page.
/// </summary>
public unsafe class BuddyModelTests
{
    private const int Page = 4096;

    /// <summary>A region shape: how many regions, their sizes in bytes and their start offsets from a page boundary.</summary>
    public static TheoryData<int, int[], int[]> Shapes => new()
    {
        { 11, [4 << 20], [0] },                                   // one aligned region
        { 12, [2 << 20, 1 << 20], [0, 4096] },                    // regions whose garbage reads as free and run heads
        { 23, [3 << 20, 1 << 20], [13, 4096 * 7 + 5] },           // two unaligned regions of odd shapes
        { 42, [512 << 10, 2 << 20, 777 * 4096 + 77], [0, 64, 1] } // three sections, hot-added later
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RandomAllocationsNeverOverlapAndFreeingEverythingRestoresEverySection(int seed, int[] sizes, int[] offsets)
    {
        // Seed 12 fills its regions with the very bytes that mark free-block (1) and run (2) heads in page records.
        byte Fill(int i) => seed == 12 ? (byte)(1 + i % 2) : (byte)0xAB;
        var regions = sizes.Select((size, i) => new NativeRegion((nuint)(size + offsets[i]), Page, Fill(i))).ToArray();
        try
        {
            var buddy = new BuddyAllocator();
            nuint Start(int i) => regions[i].Address + (nuint)offsets[i];
            buddy.Init((void*)Start(0), (nuint)sizes[0]);
            // The model: one bit per page of every region, and the live runs.
            var owner = new Dictionary<nuint, bool>();
            var live = new List<(nuint Address, nuint Pages)>();
            var initial = new List<string>();
            initial.Add(string.Join(' ', BuddyInspector.FreeBlocks(buddy, 0)));
            int added = 1;

            var rng = new Random(seed);
            const int Steps = 100_000;
            for (int step = 0; step < Steps; step++)
            {
                // Hot-add the remaining regions part-way through.
                if (added < regions.Length && step == Steps * added / (regions.Length + 1))
                {
                    buddy.AddRegion((void*)Start(added), (nuint)sizes[added]);
                    initial.Add(string.Join(' ', BuddyInspector.FreeBlocks(buddy, added)));
                    added++;
                }

                bool allocate = live.Count == 0 || rng.Next(100) < (live.Count < 200 ? 60 : 45);
                if (allocate)
                {
                    nuint count = (nuint)(rng.Next(4) == 0 ? rng.Next(1, 70) : rng.Next(1, 5));
                    nuint alignment = (nuint)1 << (rng.Next(5) == 0 ? rng.Next(0, 22) : rng.Next(0, 13));
                    bool low = rng.Next(20) == 0;
                    bool ok = low ? buddy.TryAllocatePagesLowMem(count, alignment, out nuint a) : buddy.TryAllocatePages(count, alignment, out a);
                    if (!ok)
                    {
                        Assert.Equal((nuint)0, a);
                        Assert.True(low || count > 1 || alignment > Page || buddy.FreePageCount == 0,
                            "a single page must be found while any page is free");
                        continue;
                    }
                    Assert.Equal((nuint)0, a % Math.Max(alignment, (nuint)Page));
                    int section = SectionIndex(buddy, a);
                    var s = buddy.GetSection(section);
                    Assert.True(a + count * Page <= s.Start + s.Size, "the run ends inside its section");
                    for (nuint p = 0; p < count; p++)
                        Assert.True(owner.TryAdd(a + p * Page, true), $"page 0x{a + p * Page:x} handed out twice");
                    *(nuint*)a = a;                                        // stamp the run
                    *(nuint*)(a + count * Page - (nuint)sizeof(nuint)) = count;
                    live.Add((a, count));
                }
                else
                {
                    int i = rng.Next(live.Count);
                    var (a, count) = live[i];
                    Assert.Equal(a, *(nuint*)a);                          // nobody wrote into it
                    Assert.Equal(count, *(nuint*)(a + count * Page - (nuint)sizeof(nuint)));
                    buddy.FreePages(a, count);
                    for (nuint p = 0; p < count; p++) owner.Remove(a + p * Page);
                    live[i] = live[^1];
                    live.RemoveAt(live.Count - 1);
                }

                Assert.Equal((nuint)owner.Count, buddy.TotalPageCount - buddy.FreePageCount);
                Assert.Equal((nuint)owner.Count * Page, buddy.AllocatedBytes);
                if (step % 997 == 0) BuddyInspector.CheckInvariants(buddy, live);
            }

            BuddyInspector.CheckInvariants(buddy, live);
            foreach (var (a, count) in live) buddy.FreePages(a, count);
            Assert.Equal(buddy.TotalPageCount, buddy.FreePageCount);
            for (int i = 0; i < buddy.SectionCount; i++)
                Assert.Equal(initial[i], string.Join(' ', BuddyInspector.FreeBlocks(buddy, i)));
            BuddyInspector.CheckInvariants(buddy);
        }
        finally
        {
            foreach (var r in regions) r.Dispose();
        }
    }

    private static int SectionIndex(BuddyAllocator buddy, nuint address)
    {
        for (int i = 0; i < buddy.SectionCount; i++)
        {
            var s = buddy.GetSection(i);
            if (address >= s.Start && address < s.Start + s.Size) return i;
        }
        throw new Xunit.Sdk.XunitException($"0x{address:x} is in no section");
    }
}
