using System.Numerics;
using System.Runtime.CompilerServices;

namespace BuddySlab.Buddy;

/// <summary>
/// The free lists of one zone of a section: a doubly linked list per order, threaded through the
/// page records by page index, plus a bit mask of the orders whose list is not empty, so the
/// smallest usable order is found with one bit scan instead of a walk over the orders.
/// Every block on these lists lies inside <c>[Start, End)</c>, and blocks never merge across that range.
/// <para>Each list is first in, first out: a block joins at the tail and allocation takes the head, the block that has
/// been free the longest. A freshly freed block so waits its turn while its buddy has time to come free and merge with
/// it; taking the newest one first (LIFO) kept breaking up blocks that were about to merge, and under steady churn the
/// heap kept fragmenting and spreading over memory it had never touched (see docs/design.md).</para>
/// </summary>
internal unsafe struct FreeArea
{
    /// <summary>Largest block order: blocks of up to 2^31 pages.</summary>
    public const int MaxOrder = 31;

    public uint Start;
    public uint End;
    public uint FreePages;
    public uint NonEmptyOrders;
    public fixed uint Heads[MaxOrder + 1];
    public fixed uint Tails[MaxOrder + 1];

    public void Reset(uint start, uint end)
    {
        Start = start;
        End = end;
        FreePages = 0;
        NonEmptyOrders = 0;
        for (int i = 0; i <= MaxOrder; i++) Heads[i] = Tails[i] = PageRecord.None;
    }

    /// <summary>The smallest order at or above <paramref name="order"/> with a free block, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int FirstOrderAtLeast(int order)
    {
        uint usable = NonEmptyOrders & (uint.MaxValue << order);
        return usable == 0 ? -1 : BitOperations.TrailingZeroCount(usable);
    }

    /// <summary>Puts a free block at the tail of its order's list.</summary>
    public void Push(PageRecord* records, uint page, int order)
    {
        uint tail = Tails[order];
        ref PageRecord r = ref records[page];
        r.Kind = PageRecord.FreeHead;
        r.Flags = PageFlags.Free;
        r.Order = (byte)order;
        r.FreeAge = 0;
        r.Prev = tail;
        r.Next = PageRecord.None;
        if (tail != PageRecord.None) records[tail].Next = page;
        else Heads[order] = page;
        Tails[order] = page;
        NonEmptyOrders |= 1u << order;
        FreePages += 1u << order;
    }

    /// <summary>Takes the head of a non-empty list: the block of that order free the longest.</summary>
    public uint Pop(PageRecord* records, int order)
    {
        uint page = Heads[order];
        Remove(records, page, order);
        return page;
    }

    public void Remove(PageRecord* records, uint page, int order)
    {
        ref PageRecord r = ref records[page];
        if (r.Prev != PageRecord.None) records[r.Prev].Next = r.Next;
        else Heads[order] = r.Next;
        if (r.Next != PageRecord.None) records[r.Next].Prev = r.Prev;
        else Tails[order] = r.Prev;
        if (Heads[order] == PageRecord.None) NonEmptyOrders &= ~(1u << order);
        r.Kind = 0;
        r.Prev = PageRecord.None;
        r.Next = PageRecord.None;
        FreePages -= 1u << order;
    }
}
