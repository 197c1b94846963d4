using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Buddy;

/// <summary>
/// One managed region: its header lives at the start of the region, followed by one
/// <see cref="PageRecord"/> per page and then the pages themselves (see <see cref="SectionLayout"/>).
/// <para>Invariants:</para>
/// <list type="bullet">
/// <item>Blocks are aligned on the <b>absolute</b> page frame number (address / page size): a block of order k
/// starts at a multiple of 2^k pages, so the address of a block satisfies any alignment up to its size, and the
/// buddy of a block is found by flipping one bit of its frame number.</item>
/// <item>The pages are split into two zones, <see cref="Low"/> (physical end at or below 4 GiB) and
/// <see cref="High"/>; a block never crosses a zone boundary, so merging stops there.</item>
/// <item>A live allocation of <c>n</c> pages starts at a block of order <c>o = ceil(log2 n)</c> or more, is exact
/// (the <c>2^o - n</c> tail pages go back to the free lists), and is recorded only in its head record. Its head
/// is therefore aligned to <c>2^o</c>, which lets any page inside it find the head by clearing low bits.</item>
/// <item>Only pages below <see cref="Frontier"/> are managed. A section over a large zero-filled reservation starts
/// with a small frontier and grows it in place (<see cref="Grow"/>); pages beyond it have blank records, so nothing
/// merges with them, and they cost address space only.</item>
/// </list>
/// Every operation is O(log of the section size): no free list, order or page range is ever walked. Creating a
/// section over memory that may hold anything clears its page records once (12 bytes per page).
/// </summary>
internal unsafe struct BuddySection
{
    public const ulong MagicValue = 0x4255_4444_5953_4543;
    private const ulong FourGiB = 1ul << 32;

    public ulong Magic;
    public nuint RegionStart;
    public nuint RegionEnd;
    public nuint FirstPage;
    public ulong BasePfn;
    public PageRecord* Records;
    public uint PageCount;
    public uint Frontier;
    public int PageShift;
    public FreeArea Low;
    public FreeArea High;

    public readonly uint FreePages => Low.FreePages + High.FreePages;

    public readonly nuint EndOfPages => FirstPage + ((nuint)PageCount << PageShift);

    /// <summary>Writes a fresh header for <paramref name="layout"/> and carves its first <paramref name="managedPages"/> pages
    /// into free blocks. <paramref name="zeroed"/> says the region is known to read as zero (a fresh mapping), so its
    /// records need no clearing and stay untouched, and uncommitted, until used.</summary>
    public static BuddySection* Create(in SectionLayout layout, nuint regionStart, nuint regionEnd, int pageShift, IPlatform platform,
        uint managedPages, bool zeroed)
    {
        var s = (BuddySection*)layout.Header;
        s->Magic = MagicValue;
        s->RegionStart = regionStart;
        s->RegionEnd = regionEnd;
        s->FirstPage = layout.FirstPage;
        s->BasePfn = (ulong)layout.FirstPage >> pageShift;
        s->Records = (PageRecord*)layout.Records;
        s->PageCount = layout.PageCount;
        s->PageShift = pageShift;
        // The region may hold anything, including bytes that read as free or run heads: start every record blank.
        if (!zeroed) NativeMemory.Clear(s->Records, (nuint)layout.PageCount * (nuint)sizeof(PageRecord));

        uint lowEnd = CountLowPages(layout.FirstPage, layout.PageCount, pageShift, platform);
        s->Low.Reset(0, lowEnd);
        s->High.Reset(lowEnd, layout.PageCount);
        s->Frontier = 0;
        s->Grow(Math.Min(managedPages, layout.PageCount));
        return s;
    }

    /// <summary>Moves the frontier up to <paramref name="newFrontier"/> pages, freeing (and merging) the pages it passes.</summary>
    public void Grow(uint newFrontier)
    {
        uint old = Frontier, lowEnd = Low.End;
        if (old < lowEnd) FreeRange(ref Low, old, Math.Min(newFrontier, lowEnd));
        if (newFrontier > lowEnd) FreeRange(ref High, Math.Max(old, lowEnd), newFrontier);
        Frontier = newFrontier;
    }

    /// <summary>How many leading pages end physically at or below 4 GiB (the mapping rises within a region).</summary>
    private static uint CountLowPages(nuint firstPage, uint pageCount, int pageShift, IPlatform platform)
    {
        ulong pageSize = 1ul << pageShift;
        uint lo = 0, hi = pageCount;
        while (lo < hi)
        {
            uint mid = lo + (hi - lo) / 2;
            ulong physical = platform.VirtualToPhysical(firstPage + ((nuint)mid << pageShift));
            if (physical <= FourGiB - pageSize) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// Takes <paramref name="count"/> pages from a block of at least <paramref name="order"/>, searching the high
    /// zone first (keeping low memory for those who need it) unless <paramref name="lowOnly"/>.
    /// Returns the first page index, or <see cref="PageRecord.None"/>.
    /// </summary>
    public uint Allocate(uint count, int order, bool lowOnly)
    {
        if (!lowOnly)
        {
            uint page = AllocateIn(ref High, count, order);
            if (page != PageRecord.None) return page;
        }
        return AllocateIn(ref Low, count, order);
    }

    /// <summary>
    /// The last resort for a run of <paramref name="count"/> pages that no free block of its order can hold: a
    /// <i>spanning run</i>, placed at a boundary of <c>2^p</c> pages (<c>p</c> from <paramref name="minOrder"/>, never below
    /// the alignment asked for, up to just below the run's order) in a stretch of consecutive free blocks. The finest
    /// boundary that fits comes first: it wastes the fewest pages before the run and leaves the longest stretch after it
    /// (a coarse one could split what is left in two halves neither of which holds the next large run). Its
    /// head records <c>p</c> as its order, and each later multiple of <c>2^p</c> inside it holds a
    /// <see cref="PageRecord.RunTail"/> naming the head, so that every page still finds its run by clearing low bits.
    /// It walks the zone's blocks in address order: O(blocks and runs of the section), which is why it is only ever
    /// tried when nothing else (growth included) can serve the request. Returns the first page, or
    /// <see cref="PageRecord.None"/>.
    /// </summary>
    public uint AllocateSpanning(uint count, int maxOrder, int minOrder, bool lowOnly)
    {
        for (int p = minOrder; p <= maxOrder; p++)
        {
            uint page = lowOnly ? PageRecord.None : AllocateSpanningIn(ref High, count, p);
            if (page == PageRecord.None) page = AllocateSpanningIn(ref Low, count, p);
            if (page != PageRecord.None) return page;
        }
        return PageRecord.None;
    }

    private uint AllocateSpanningIn(ref FreeArea area, uint count, int p)
    {
        uint stretch = PageRecord.None;                 // start of the current stretch of free blocks
        uint page = area.Start, end = Math.Min(area.End, Frontier);
        while (page < end)
        {
            ref PageRecord r = ref Records[page];
            uint length;
            if (r.IsFreeHead)
            {
                length = 1u << r.Order;
                if (stretch == PageRecord.None) stretch = page;
                // The first 2^p boundary in the stretch from which count pages fit inside it.
                ulong frame = BasePfn + stretch, step = 1ul << p;
                uint start = (uint)(((frame + step - 1) & ~(step - 1)) - BasePfn);
                if (start + (ulong)count <= page + length)
                {
                    TakeSpanning(ref area, stretch, start, count, p);
                    return start;
                }
            }
            else if (r.IsRunHead)
            {
                length = r.RunLength;
                stretch = PageRecord.None;
            }
            else
            {
                return PageRecord.None;                 // not a block boundary: the walk lost its way (cannot happen)
            }
            page += length;
        }
        return PageRecord.None;
    }

    /// <summary>Takes <c>[start, start + count)</c> out of the stretch of free blocks that begins at <paramref name="stretch"/>
    /// (which covers it), gives the parts around it back, and writes the run's head and tails.</summary>
    private void TakeSpanning(ref FreeArea area, uint stretch, uint start, uint count, int p)
    {
        uint end = start + count;
        for (uint b = stretch; b < end;)
        {
            int k = Records[b].Order;
            uint blockEnd = b + (1u << k);
            area.Remove(Records, b, k);
            if (b < start) Release(ref area, b, Math.Min(start, blockEnd));
            if (blockEnd > end) Release(ref area, end, blockEnd);
            b = blockEnd;
        }
        ref PageRecord head = ref Records[start];
        head.Kind = PageRecord.RunHead;
        head.Flags = PageFlags.Allocated;
        head.Order = (byte)p;
        head.Prev = PageRecord.None;
        head.Next = count;
        for (uint t = start + (1u << p); t < end; t += 1u << p)
        {
            ref PageRecord tail = ref Records[t];
            tail.Kind = PageRecord.RunTail;
            tail.Next = start;
        }
    }

    /// <summary>True when the run headed at <paramref name="page"/> spans past the block its head is aligned to.</summary>
    private readonly bool IsSpanning(uint page) => Records[page].RunLength > 1u << Records[page].Order;

    /// <summary>Clears the tails of the spanning run at <paramref name="page"/> from page <paramref name="from"/> (relative
    /// to the head) on.</summary>
    private void ClearTails(uint page, uint from)
    {
        int p = Records[page].Order;
        uint count = Records[page].RunLength;
        for (uint t = 1u << p; t < count; t += 1u << p)
            if (t >= from) Records[page + t].Kind = 0;
    }

    private uint AllocateIn(ref FreeArea area, uint count, int order)
    {
        int k = area.FirstOrderAtLeast(order);
        if (k < 0) return PageRecord.None;
        uint page = area.Pop(Records, k);
        // Split: keep the lower half, give the upper halves back.
        while (k > order)
        {
            k--;
            area.Push(Records, page + (1u << k), k);
        }
        // Exact run: the pages past `count` in this block go back too.
        uint blockEnd = page + (1u << order);
        if (page + count < blockEnd) Release(ref area, page + count, blockEnd);

        ref PageRecord head = ref Records[page];
        head.Kind = PageRecord.RunHead;
        head.Flags = PageFlags.Allocated;
        head.Order = (byte)order;
        head.Prev = PageRecord.None;
        head.Next = count;
        return page;
    }

    /// <summary>Returns the run that starts at <paramref name="page"/> (a verified run head) and merges it.</summary>
    public void Free(uint page)
    {
        ref PageRecord head = ref Records[page];
        uint count = head.RunLength;
        int order = head.Order;
        ref FreeArea area = ref AreaOf(page);
        if (IsSpanning(page))
        {
            ClearTails(page, 0);
            head.Kind = 0;
            head.Flags = PageFlags.Free;
            FreeRange(ref area, page, page + count);
            return;
        }
        head.Kind = 0;
        head.Flags = PageFlags.Free;
        // The common case: the tail that the allocation gave back is still free, so the run's whole block re-forms and
        // merges on from there, without pushing the run's own pieces only to pull them off again.
        if (TryTakeFreeTail(ref area, page + count, page + (1u << order))) FreeBlock(ref area, page, order);
        else FreeRange(ref area, page, page + count);
    }

    /// <summary>When every block of <c>[start, end)</c>, split as <see cref="Release"/> splits it, is free and whole, takes
    /// them all off the free lists and answers true; otherwise changes nothing. The free blocks of a live run's tail are
    /// always those blocks, or parts of them in use.</summary>
    private bool TryTakeFreeTail(ref FreeArea area, uint start, uint end)
    {
        for (uint p = start; p < end;)
        {
            int k = FittingOrder(p, end);
            ref PageRecord r = ref Records[p];
            if (!r.IsFreeHead || r.Order != k) return false;
            p += 1u << k;
        }
        for (uint p = start; p < end;)
        {
            int k = FittingOrder(p, end);
            area.Remove(Records, p, k);
            p += 1u << k;
        }
        return true;
    }

    /// <summary>Shortens the run at <paramref name="page"/> to <paramref name="newCount"/> pages, freeing its tail.</summary>
    public void Shrink(uint page, uint newCount)
    {
        ref PageRecord head = ref Records[page];
        uint oldCount = head.RunLength;
        if (IsSpanning(page)) ClearTails(page, newCount);
        head.Next = newCount;
        FreeRange(ref AreaOf(page), page + newCount, page + oldCount);
    }

    /// <summary>The head of the live run containing <paramref name="page"/>, or <see cref="PageRecord.None"/> if it is free.</summary>
    public readonly uint FindRunHead(uint page)
    {
        ulong frame = BasePfn + page;
        for (int k = 0; k <= FreeArea.MaxOrder; k++)
        {
            ulong candidate = frame & ~((1ul << k) - 1);
            if (candidate < BasePfn) break;
            uint h = (uint)(candidate - BasePfn);
            ref PageRecord r = ref Records[h];
            if (r.IsRunHead) return page - h < r.RunLength ? h : PageRecord.None;
            if (r.IsRunTail) return page - r.Next < Records[r.Next].RunLength ? r.Next : PageRecord.None;
            if (r.IsFreeHead && page - h < (1u << r.Order)) return PageRecord.None;
        }
        return PageRecord.None;
    }

    [UnscopedRef, MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref FreeArea AreaOf(uint page) => ref page < Low.End ? ref Low : ref High;

    /// <summary>The largest order a block starting at <paramref name="page"/> may have, given its alignment and the room to <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int FittingOrder(uint page, uint end)
    {
        int alignOrder = BitOperations.TrailingZeroCount(BasePfn + page);
        int sizeOrder = BitOperations.Log2(end - page);
        return Math.Min(Math.Min(alignOrder, sizeOrder), FreeArea.MaxOrder);
    }

    /// <summary>Puts <c>[page, end)</c> on the free lists as the largest aligned blocks, without merging.</summary>
    private void Release(ref FreeArea area, uint page, uint end)
    {
        while (page < end)
        {
            int k = FittingOrder(page, end);
            area.Push(Records, page, k);
            page += 1u << k;
        }
    }

    /// <summary>Frees <c>[page, end)</c> as the largest aligned blocks, merging each with its free buddies.</summary>
    private void FreeRange(ref FreeArea area, uint page, uint end)
    {
        while (page < end)
        {
            int k = FittingOrder(page, end);
            FreeBlock(ref area, page, k);
            page += 1u << k;
        }
    }

    private void FreeBlock(ref FreeArea area, uint page, int order)
    {
        while (order < FreeArea.MaxOrder)
        {
            ulong buddyFrame = (BasePfn + page) ^ (1ul << order);
            if (buddyFrame < BasePfn + area.Start) break;
            ulong buddy = buddyFrame - BasePfn;
            if (buddy + (1ul << order) > area.End) break;
            ref PageRecord r = ref Records[buddy];
            if (!r.IsFreeHead || r.Order != order) break;
            area.Remove(Records, (uint)buddy, order);
            page = Math.Min(page, (uint)buddy);
            order++;
        }
        area.Push(Records, page, order);
    }
}
