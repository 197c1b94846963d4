using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Heap;

/// <summary>
/// The side table of a <see cref="BuddyHeap"/>, kept outside the heap memory: two bits for every block the heap could
/// ever form, one saying "this is a free block on its list", the other "this is a live block".
/// <para><b>Invariants.</b> Blocks are the nodes of a complete binary tree numbered from 1 at the root (the whole
/// heap); the node of the block of order <c>k</c> at unit <c>u</c> is <c>(1 &lt;&lt; (top - k)) + (u &gt;&gt; k)</c>,
/// so a buddy is <c>node ^ 1</c> and the enclosing block <c>node &gt;&gt; 1</c>. Nodes that were split, or lie inside
/// a larger block, have neither bit set: the marked nodes always tile the heap exactly.</para>
/// <para><b>Storage.</b> The bits live in one pinned array, zeroed by the runtime, allocated once by the
/// constructor.</para>
/// </summary>
internal readonly unsafe struct BlockStates
{
    private readonly ulong[] _storage;
    private readonly ulong* _free;
    private readonly ulong* _live;
    private readonly int _top;

    /// <summary>Allocates the (all clear) bits of a heap with <paramref name="orders"/> orders.</summary>
    public BlockStates(int orders)
    {
        _top = orders - 1;
        // Nodes are numbered 1 .. 2^orders - 1; round the bit count up to whole words.
        long words = Math.Max(1L, (1L << orders) / 64);
        _storage = GC.AllocateArray<ulong>(checked((int)(2 * words)), pinned: true);
        _free = (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
        _live = _free + words;
    }

    /// <summary>The node of the block of order <paramref name="order"/> that contains unit
    /// <paramref name="unit"/>.</summary>
    public nuint Node(int order, nuint unit) => ((nuint)1 << (_top - order)) + (unit >> order);

    /// <summary>Whether <paramref name="node"/> is a free block on its list.</summary>
    public bool IsFree(nuint node) => Test(_free, node);

    /// <summary>Whether <paramref name="node"/> is a live (allocated) block.</summary>
    public bool IsLive(nuint node) => Test(_live, node);

    /// <summary>Marks <paramref name="node"/> free.</summary>
    public void SetFree(nuint node) => _free[node >> 6] |= Bit(node);

    /// <summary>Clears the free mark of <paramref name="node"/>.</summary>
    public void ClearFree(nuint node) => _free[node >> 6] &= ~Bit(node);

    /// <summary>Marks <paramref name="node"/> live.</summary>
    public void SetLive(nuint node) => _live[node >> 6] |= Bit(node);

    /// <summary>Clears the live mark of <paramref name="node"/>.</summary>
    public void ClearLive(nuint node) => _live[node >> 6] &= ~Bit(node);

    private static bool Test(ulong* bits, nuint node) => (bits[node >> 6] & Bit(node)) != 0;

    private static ulong Bit(nuint node) => 1UL << (int)(node & 63);
}
