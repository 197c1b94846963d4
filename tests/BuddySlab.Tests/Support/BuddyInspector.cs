using BuddySlab.Buddy;

namespace BuddySlab.Tests.Support;

/// <summary>Reads a <see cref="BuddyAllocator"/>'s sections from the inside and checks every free-list invariant.</summary>
internal static unsafe class BuddyInspector
{
    public readonly record struct Block(nuint Address, int Order);

    /// <summary>Everything observable about the allocator, for "nothing changed" comparisons.</summary>
    public sealed record Snapshot(nuint Total, nuint Free, nuint Allocated, string Shape);

    public static Snapshot Snap(BuddyAllocator a)
    {
        var shape = new System.Text.StringBuilder();
        for (int i = 0; i < a.SectionCount; i++)
        {
            shape.Append('[');
            foreach (var b in FreeBlocks(a, i)) shape.Append($"{b.Address:x}:{b.Order} ");
            shape.Append(']');
        }
        return new Snapshot(a.TotalPageCount, a.FreePageCount, a.AllocatedBytes, shape.ToString());
    }

    /// <summary>The free blocks of section <paramref name="section"/>, sorted by address.</summary>
    public static List<Block> FreeBlocks(BuddyAllocator a, int section)
    {
        BuddySection* s = a.SectionPointer(section);
        var blocks = new List<Block>();
        Collect(s, &s->Low, blocks);
        Collect(s, &s->High, blocks);
        blocks.Sort((x, y) => x.Address.CompareTo(y.Address));
        return blocks;
    }

    /// <summary>The orders of the free blocks of a section, as "order:count" pairs, ascending.</summary>
    public static string OrderHistogram(BuddyAllocator a, int section) =>
        string.Join(' ', FreeBlocks(a, section).GroupBy(b => b.Order).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}"));

    private static void Collect(BuddySection* s, FreeArea* area, List<Block> blocks)
    {
        for (int k = 0; k <= FreeArea.MaxOrder; k++)
        {
            uint steps = 0;
            for (uint p = area->Heads[k]; p != PageRecord.None; p = s->Records[p].Next)
            {
                if (++steps > s->PageCount) throw new InvalidOperationException($"Free list of order {k} has a cycle.");
                blocks.Add(new Block(s->FirstPage + ((nuint)p << s->PageShift), k));
            }
        }
    }

    /// <summary>
    /// Asserts the structural invariants of every section: list links, bounds, absolute alignment, no overlap,
    /// tails, maximal merging, exact free counts; and, given the live runs, that each is recorded and disjoint from free blocks.
    /// </summary>
    public static void CheckInvariants(BuddyAllocator a, IEnumerable<(nuint Address, nuint Pages)>? live = null)
    {
        nuint totalFree = 0, totalPages = 0;
        var covered = new Dictionary<nint, bool[]>();
        for (int i = 0; i < a.SectionCount; i++)
        {
            BuddySection* s = a.SectionPointer(i);
            Assert.Equal(BuddySection.MagicValue, s->Magic);
            var pageUsed = new bool[s->PageCount];
            covered[(nint)s] = pageUsed;
            CheckArea(s, &s->Low, pageUsed);
            CheckArea(s, &s->High, pageUsed);
            Assert.Equal(0u, s->Low.Start);
            Assert.Equal(s->Low.End, s->High.Start);
            Assert.Equal(s->PageCount, s->High.End);
            var summary = a.GetSection(i);
            Assert.Equal((nuint)s->FreePages, summary.FreePageCount);
            totalFree += summary.FreePageCount;
            totalPages += summary.TotalPageCount;
        }
        Assert.Equal(a.FreePageCount, totalFree);
        Assert.Equal(a.TotalPageCount, totalPages);
        Assert.Equal((a.TotalPageCount - a.FreePageCount) * (nuint)a.PageSize, a.AllocatedBytes);
        Assert.Equal(a.TotalPageCount * (nuint)a.PageSize, a.ManagedBytes);

        if (live is null) return;
        nuint livePages = 0;
        foreach (var (address, pages) in live)
        {
            BuddySection* s = a.FindSection(address);
            Assert.True(s != null, $"live run 0x{address:x} is outside every section");
            uint first = (uint)((address - s->FirstPage) >> s->PageShift);
            Assert.True(s->Records[first].IsRunHead, $"live run 0x{address:x} has no run head");
            Assert.Equal((uint)pages, s->Records[first].RunLength);
            var used = covered[(nint)s];
            for (uint p = first; p < first + pages; p++)
            {
                Assert.False(used[p], $"page {p} of live run 0x{address:x} is also free or in another run");
                used[p] = true;
            }
            livePages += pages;
        }
        Assert.Equal(a.TotalPageCount - a.FreePageCount, livePages);
    }

    private static void CheckArea(BuddySection* s, FreeArea* area, bool[] used)
    {
        uint sum = 0;
        for (int k = 0; k <= FreeArea.MaxOrder; k++)
        {
            uint head = area->Heads[k];
            Assert.Equal(head != PageRecord.None, (area->NonEmptyOrders & (1u << k)) != 0);
            uint prev = PageRecord.None, steps = 0;
            for (uint p = head; p != PageRecord.None; p = s->Records[p].Next)
            {
                Assert.True(++steps <= s->PageCount, $"free list {k} has a cycle");
                ref PageRecord r = ref s->Records[p];
                Assert.True(r.IsFreeHead, $"page {p} on free list {k} is not marked as a free head");
                Assert.Equal(k, r.Order);
                Assert.Equal(prev, r.Prev);
                ulong size = 1ul << k;
                Assert.True(p >= area->Start && p + size <= area->End, $"block {p}:{k} leaves its zone");
                Assert.Equal(0ul, (s->BasePfn + p) % size);
                for (uint q = p; q < p + size; q++)
                {
                    Assert.False(used[q], $"page {q} is in two free blocks");
                    used[q] = true;
                }
                // Maximal merging: the buddy of a free block is never a free block of the same order.
                ulong buddyFrame = (s->BasePfn + p) ^ size;
                if (k < FreeArea.MaxOrder && buddyFrame >= s->BasePfn + area->Start && buddyFrame - s->BasePfn + size <= area->End)
                {
                    ref PageRecord b = ref s->Records[buddyFrame - s->BasePfn];
                    Assert.False(b.IsFreeHead && b.Order == k, $"block {p}:{k} and its buddy are both free and unmerged");
                }
                sum += (uint)size;
                prev = p;
            }
            Assert.Equal(prev, area->Tails[k]);
        }
        Assert.Equal(area->FreePages, sum);
    }
}
