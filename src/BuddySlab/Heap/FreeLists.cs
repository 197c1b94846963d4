using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace BuddySlab.Heap;

/// <summary>
/// The free lists of a <see cref="BuddyHeap"/>: one LIFO, doubly linked list per order, threaded through the free
/// blocks themselves. Blocks are named by their index in minimum-block units from the heap base, and each free block
/// starts with a <see cref="Link"/> (two 32-bit indices, 8 bytes), so the smallest block the reference accepts on
/// 64-bit still has room for both links and removal never walks a list.
/// <para><b>Invariants.</b> The list of the top order holds at most the one whole-heap block, whose links are never
/// read: a fresh heap can therefore sit on memory that was never written.</para>
/// <para><b>Ownership.</b> A mutable struct kept in a field of its owner.</para>
/// </summary>
internal unsafe struct FreeLists
{
    /// <summary>The "no block" index: list ends and empty heads.</summary>
    public const uint None = uint.MaxValue;

    private readonly byte* _base;
    private readonly int _unitShift;
    private readonly int _top;

    // Bit k set iff the list of order k is not empty: lets the allocator find the first usable order at once.
    private ulong _nonEmpty;

    private fixed uint _heads[BuddyHeap.MaxOrders];

    /// <summary>The in-band header of a free block.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Link
    {
        public uint Next;
        public uint Prev;
    }

    /// <summary>Creates empty lists for a heap at <paramref name="heapBase"/> whose minimum block is
    /// <c>1 &lt;&lt; <paramref name="unitShift"/></c> bytes, with orders 0 to <paramref name="top"/>.</summary>
    public FreeLists(byte* heapBase, int unitShift, int top)
    {
        Debug.Assert(top < BuddyHeap.MaxOrders);
        _base = heapBase;
        _unitShift = unitShift;
        _top = top;
        for (int i = 0; i < BuddyHeap.MaxOrders; i++)
            _heads[i] = None;
    }

    /// <summary>The smallest order at or above <paramref name="order"/> whose list has a block, or -1.</summary>
    public readonly int FirstNonEmptyFrom(int order)
    {
        ulong candidates = _nonEmpty >> order;
        return candidates == 0 ? -1 : order + BitOperations.TrailingZeroCount(candidates);
    }

    /// <summary>Makes <paramref name="unit"/> the head of the list of <paramref name="order"/>.</summary>
    public void Push(int order, nuint unit)
    {
        _nonEmpty |= 1UL << order;
        // The whole-heap block gets no links, so creating a heap writes nothing into its memory.
        if (order == _top)
        {
            Debug.Assert(_heads[order] == None);
            _heads[order] = (uint)unit;
            return;
        }
        uint head = _heads[order];
        Link* link = LinkAt(unit);
        link->Next = head;
        link->Prev = None;
        if (head != None)
            LinkAt(head)->Prev = (uint)unit;
        _heads[order] = (uint)unit;
    }

    /// <summary>Unlinks and returns the head of the list of <paramref name="order"/>, which is known not to be
    /// empty.</summary>
    public nuint Pop(int order)
    {
        Debug.Assert((_nonEmpty & (1UL << order)) != 0);
        uint unit = _heads[order];
        // The whole-heap block is alone in its list and has no links.
        uint next = order == _top ? None : LinkAt(unit)->Next;
        SetHead(order, next);
        return unit;
    }

    /// <summary>Unlinks <paramref name="unit"/>, which must be on the list of <paramref name="order"/> (below the
    /// top).</summary>
    public void Remove(int order, nuint unit)
    {
        Debug.Assert(order < _top);
        Link* link = LinkAt(unit);
        uint next = link->Next, prev = link->Prev;
        if (prev == None)
        {
            SetHead(order, next);
            return;
        }
        LinkAt(prev)->Next = next;
        if (next != None)
            LinkAt(next)->Prev = prev;
    }

    /// <summary>Appends the list of <paramref name="order"/>, head first, to <paramref name="units"/> (diagnostics
    /// only).</summary>
    public readonly void CopyTo(int order, List<nuint> units)
    {
        uint unit = _heads[order];
        if (order == _top)
        {
            if (unit != None)
                units.Add(unit);
            return;
        }
        for (; unit != None; unit = LinkAt(unit)->Next)
            units.Add(unit);
    }

    /// <summary>Whether the list of <paramref name="order"/> is marked non-empty (diagnostics only).</summary>
    public readonly bool IsMarkedNonEmpty(int order) => (_nonEmpty & (1UL << order)) != 0;

    /// <summary>The <c>Prev</c> link stored in free block <paramref name="unit"/> (diagnostics only).</summary>
    public readonly uint PrevOf(nuint unit) => LinkAt(unit)->Prev;

    private void SetHead(int order, uint unit)
    {
        _heads[order] = unit;
        if (unit == None)
            _nonEmpty &= ~(1UL << order);
        else
            LinkAt(unit)->Prev = None;
    }

    private readonly Link* LinkAt(nuint unit) => (Link*)(_base + (unit << _unitShift));
}
