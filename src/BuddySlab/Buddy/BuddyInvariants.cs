namespace BuddySlab.Buddy;

/// <summary>
/// Reads a <see cref="BuddyAllocator"/>'s sections from the inside: its free blocks, and a check of every structural
/// invariant (list links, zone bounds, absolute alignment, no overlap, maximal merging, exact free counts and, given
/// the live runs, that each is recorded and disjoint from the free blocks). For tests, the statistics snapshot and
/// debugging; O(pages). The caller holds the allocator's lock, or knows nothing else runs.
/// </summary>
internal static unsafe class BuddyInvariants
{
    /// <summary>A free block: its address and order.</summary>
    public readonly record struct FreeBlock(nuint Address, int Order);

    /// <summary>The free blocks of section <paramref name="section"/> (in registration order), sorted by address.</summary>
    public static List<FreeBlock> FreeBlocks(BuddyAllocator a, int section)
    {
        BuddySection* s = a.SectionPointer(section);
        var blocks = new List<FreeBlock>();
        Collect(s, &s->Low, blocks);
        Collect(s, &s->High, blocks);
        blocks.Sort((x, y) => x.Address.CompareTo(y.Address));
        return blocks;
    }

    private static void Collect(BuddySection* s, FreeArea* area, List<FreeBlock> blocks)
    {
        for (int k = 0; k <= FreeArea.MaxOrder; k++)
        {
            uint steps = 0;
            for (uint p = area->Heads[k]; p != PageRecord.None; p = s->Records[p].Next)
            {
                Check(++steps <= s->PageCount, $"free list of order {k} has a cycle");
                blocks.Add(new FreeBlock(s->FirstPage + ((nuint)p << s->PageShift), k));
            }
        }
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the first invariant found broken.</summary>
    public static void Check(BuddyAllocator a, IEnumerable<(nuint Address, nuint Pages)>? live = null)
    {
        nuint totalFree = 0, totalPages = 0;
        var covered = new Dictionary<nint, bool[]>();
        for (int i = 0; i < a.SectionCount; i++)
        {
            BuddySection* s = a.SectionPointer(i);
            Check(s->Magic == BuddySection.MagicValue, $"section {i} has lost its magic value");
            var pageUsed = new bool[s->PageCount];
            covered[(nint)s] = pageUsed;
            CheckArea(s, &s->Low, pageUsed);
            CheckArea(s, &s->High, pageUsed);
            Check(s->Low.Start == 0 && s->Low.End == s->High.Start && s->High.End == s->PageCount, $"section {i}'s zones do not tile its pages");
            var summary = a.GetSection(i);
            Check(summary.FreePageCount == s->FreePages, $"section {i} reports {summary.FreePageCount} free pages, its zones {s->FreePages}");
            totalFree += summary.FreePageCount;
            totalPages += summary.TotalPageCount;
        }
        Check(a.FreePageCount == totalFree, $"the allocator counts {a.FreePageCount} free pages, its sections {totalFree}");
        Check(a.TotalPageCount == totalPages, $"the allocator counts {a.TotalPageCount} pages, its sections {totalPages}");
        Check(a.AllocatedBytes == (a.TotalPageCount - a.FreePageCount) * (nuint)a.PageSize, "allocated bytes disagree with the page counts");
        Check(a.ManagedBytes == a.TotalPageCount * (nuint)a.PageSize, "managed bytes disagree with the page count");

        if (live is null) return;
        nuint livePages = 0;
        foreach (var (address, pages) in live)
        {
            BuddySection* s = a.FindSection(address);
            Check(s != null, $"live run 0x{address:x} is outside every section");
            uint first = (uint)((address - s->FirstPage) >> s->PageShift);
            Check(s->Records[first].IsRunHead, $"live run 0x{address:x} has no run head");
            Check(s->Records[first].RunLength == pages, $"live run 0x{address:x} of {pages} pages is recorded with {s->Records[first].RunLength}");
            bool[] used = covered[(nint)s];
            for (uint p = first; p < first + pages; p++)
            {
                Check(!used[p], $"page {p} of live run 0x{address:x} is also free or in another run");
                used[p] = true;
            }
            livePages += pages;
        }
        Check(a.TotalPageCount - a.FreePageCount == livePages, $"{a.TotalPageCount - a.FreePageCount} pages are in use, the live runs hold {livePages}");
    }

    private static void CheckArea(BuddySection* s, FreeArea* area, bool[] used)
    {
        uint sum = 0;
        for (int k = 0; k <= FreeArea.MaxOrder; k++)
        {
            uint head = area->Heads[k];
            Check((head != PageRecord.None) == ((area->NonEmptyOrders & (1u << k)) != 0), $"the non-empty mask disagrees with free list {k}");
            uint prev = PageRecord.None, steps = 0;
            for (uint p = head; p != PageRecord.None; p = s->Records[p].Next)
            {
                Check(++steps <= s->PageCount, $"free list {k} has a cycle");
                ref PageRecord r = ref s->Records[p];
                Check(r.IsFreeHead, $"page {p} on free list {k} is not marked as a free head");
                Check(r.Order == k, $"block {p} on free list {k} records order {r.Order}");
                Check(r.Prev == prev, $"block {p} on free list {k} links back to {r.Prev}, not {prev}");
                ulong size = 1ul << k;
                Check(p >= area->Start && p + size <= area->End, $"block {p}:{k} leaves its zone");
                Check((s->BasePfn + p) % size == 0, $"block {p}:{k} is not aligned on its frame number");
                for (uint q = p; q < p + size; q++)
                {
                    Check(!used[q], $"page {q} is in two free blocks");
                    used[q] = true;
                }
                // Maximal merging: the buddy of a free block is never a free block of the same order.
                ulong buddyFrame = (s->BasePfn + p) ^ size;
                if (k < FreeArea.MaxOrder && buddyFrame >= s->BasePfn + area->Start && buddyFrame - s->BasePfn + size <= area->End)
                {
                    ref PageRecord b = ref s->Records[buddyFrame - s->BasePfn];
                    Check(!(b.IsFreeHead && b.Order == k), $"block {p}:{k} and its buddy are both free and unmerged");
                }
                sum += (uint)size;
                prev = p;
            }
            Check(area->Tails[k] == prev, $"free list {k} ends at {prev}, its tail says {area->Tails[k]}");
        }
        Check(area->FreePages == sum, $"a zone counts {area->FreePages} free pages, its lists hold {sum}");
    }

    private static void Check(bool holds, string broken)
    {
        if (!holds) throw new InvalidOperationException($"Buddy invariant broken: {broken}.");
    }
}
