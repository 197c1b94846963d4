using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

using BuddySlab.Diagnostics;
using BuddySlab.Heap;

namespace BuddySlab;

/// <summary>
/// A buddy heap over one caller-supplied, power-of-two region of native memory: a port of the Rust crate
/// <c>buddyalloc</c>'s <c>Heap&lt;N&gt;</c> that places every block exactly where the original does, with
/// constant-time free-list removal and checked frees.
/// <para><b>Blocks.</b> The heap is split into blocks of <see cref="MinBlockSize"/> &lt;&lt; <c>k</c> bytes for orders
/// <c>k = 0 .. orders - 1</c>; a block of order <c>k</c> always starts at a multiple of its own size from the base. A
/// request takes the block of the smallest order that holds <c>max(size, alignment, MinBlockSize)</c> rounded up to a
/// power of two. Allocation pops the head of the first non-empty list at or above that order and splits it, keeping
/// the lower half and pushing each upper half on its list; a free merges the block with its buddy for as long as the
/// buddy is free, keeping the lower address, then pushes the result.</para>
/// <para><b>Invariants</b> between calls:
/// <list type="bullet">
/// <item>The free blocks and the live blocks tile the heap exactly; the side table (<see cref="BlockStates"/>) marks
/// each one as free or live, and marks nothing else.</item>
/// <item>A block is on the list of its order iff it is marked free, and no two free buddies exist: merging is
/// complete, so any fully free aligned span of <c>2^k</c> minimum blocks lies in a free block of order <c>k</c> or
/// more.</item>
/// <item>Lists are LIFO and removal keeps the order of the other entries, so placement is identical to the
/// reference's singly linked lists.</item>
/// <item><see cref="FreeBytes"/> is the total size of the free blocks.</item>
/// </list></para>
/// <para><b>Memory.</b> The heap memory itself holds nothing but the links of free blocks; a fresh heap never reads
/// or writes it. Writes into memory after it was freed are not detected.</para>
/// <para><b>Errors.</b> Every argument is checked before anything changes, so a call that throws leaves the heap as
/// it was. Refusals throw <see cref="BuddyHeapException"/>, an <see cref="AllocatorException"/> whose
/// <see cref="AllocatorException.Error"/> gives the general kind; <see cref="TryCreate"/> and
/// <see cref="TryAllocate"/> report them instead.</para>
/// <para><b>Threading.</b> Not thread-safe, like the reference: one thread at a time, callers add their own
/// lock.</para>
/// </summary>
public sealed unsafe class BuddyHeap
{
    /// <summary>The alignment the heap base must have, and the largest alignment a request may ask for.</summary>
    public const int MaxAlignment = 4096;

    /// <summary>The most orders a heap may have; block indices are 32-bit.</summary>
    public const int MaxOrders = 32;

    /// <summary>The smallest allowed minimum block: room for the two 32-bit links of a free block. Equal to the
    /// reference's limit (one pointer) on 64-bit processes.</summary>
    public const int SmallestMinBlockSize = 2 * sizeof(uint);

    private readonly byte* _base;
    private readonly nuint _heapSize;
    private readonly nuint _minBlockSize;
    private readonly int _unitShift;
    private readonly int _top;
    private readonly BlockStates _states;
    private FreeLists _lists; // mutable struct: must stay a non-readonly field
    private nuint _freeBytes;

    /// <summary>Creates a heap over the region of <paramref name="heapSize"/> bytes (a power of two) at
    /// <paramref name="heapBase"/> (aligned to <see cref="MaxAlignment"/>), with <paramref name="orders"/> block sizes:
    /// the smallest block is <c>heapSize &gt;&gt; (orders - 1)</c>. The memory is not touched and need not be
    /// initialized; it must stay valid, and be used only through this heap, for as long as the heap is. A broken
    /// creation rule throws <see cref="BuddyHeapException"/>, whose <see cref="BuddyHeapException.HeapError"/> says
    /// which.</summary>
    public BuddyHeap(void* heapBase, nuint heapSize, int orders)
    {
        if (!IsValid(heapBase, heapSize, orders, out HeapError error))
            ThrowHelper.HeapCreation(error, (nuint)heapBase, heapSize, orders, MaxAlignment, SmallestMinBlockSize,
                MaxOrders);

        _base = (byte*)heapBase;
        _heapSize = heapSize;
        _top = orders - 1;
        _minBlockSize = heapSize >> _top;
        _unitShift = BitOperations.Log2(_minBlockSize);
        _states = new BlockStates(orders);
        _lists = new FreeLists(_base, _unitShift, _top);
        // The whole heap is one free block, recorded by its list head and side-table bit: its memory is not written.
        PushFree(_top, 0);
        _freeBytes = heapSize;
    }

    /// <summary>Creates a heap like the constructor does, over <paramref name="heapSize"/> bytes (a power of two) at
    /// <paramref name="heapBase"/> (aligned to <see cref="MaxAlignment"/>) with <paramref name="orders"/> block sizes,
    /// but reports a broken rule instead of throwing: answers whether the heap was created, with the heap in
    /// <paramref name="heap"/> (null on failure) and the first broken rule in <paramref name="error"/> (meaningless
    /// when the method answers true).</summary>
    public static bool TryCreate(void* heapBase, nuint heapSize, int orders,
        [NotNullWhen(true)] out BuddyHeap? heap, out HeapError error)
    {
        if (!IsValid(heapBase, heapSize, orders, out error))
        {
            heap = null;
            return false;
        }
        heap = new BuddyHeap(heapBase, heapSize, orders);
        return true;
    }

    /// <summary>Size of the heap in bytes.</summary>
    public nuint HeapSize => _heapSize;

    /// <summary>Size of the smallest block: <c>HeapSize &gt;&gt; (Orders - 1)</c>.</summary>
    public nuint MinBlockSize => _minBlockSize;

    /// <summary>Number of block sizes (orders 0 to <c>Orders - 1</c>).</summary>
    public int Orders => _top + 1;

    /// <summary>Start of the heap memory.</summary>
    public void* HeapBase => _base;

    /// <summary>Total size of the free blocks, in bytes.</summary>
    public nuint FreeBytes => _freeBytes;

    /// <summary>The size of the block a request of <paramref name="size"/> bytes aligned to
    /// <paramref name="alignment"/> takes: the next power of two of <c>max(size, alignment, MinBlockSize)</c>. Depends
    /// only on the arguments, not on what is allocated. Throws <see cref="BuddyHeapException"/> with
    /// <see cref="HeapAllocationError.BadAlignment"/> (checked first) or <see cref="HeapAllocationError.TooLarge"/>.
    /// </summary>
    public nuint AllocationSize(nuint size, nuint alignment) => _minBlockSize << AllocationOrder(size, alignment);

    /// <summary>Allocates a block for <paramref name="size"/> bytes aligned to <paramref name="alignment"/>; its size
    /// is <see cref="AllocationSize"/>. The memory is not cleared. Throws <see cref="BuddyHeapException"/> with
    /// <see cref="HeapAllocationError.BadAlignment"/>, <see cref="HeapAllocationError.TooLarge"/> or
    /// <see cref="HeapAllocationError.HeapExhausted"/>; the heap is unchanged.</summary>
    public void* Allocate(nuint size, nuint alignment)
    {
        if (!TryAllocate(size, alignment, out void* block, out HeapAllocationError error))
            ThrowHelper.HeapAllocation(error, size, alignment, _heapSize, MaxAlignment);
        return block;
    }

    /// <summary>Allocates like <see cref="Allocate"/> a block for <paramref name="size"/> bytes aligned to
    /// <paramref name="alignment"/> (a power of two of at most <see cref="MaxAlignment"/>), but reports a refusal
    /// instead of throwing: answers whether a block was allocated, with the block in <paramref name="block"/> (null on
    /// failure) and why the request was refused in <paramref name="error"/> (meaningless when the method answers
    /// true).</summary>
    public bool TryAllocate(nuint size, nuint alignment, out void* block, out HeapAllocationError error)
    {
        block = null;
        if (!TryGetOrder(size, alignment, out int order, out error))
            return false;

        int found = _lists.FirstNonEmptyFrom(order);
        if (found < 0)
        {
            error = HeapAllocationError.HeapExhausted;
            return false;
        }

        nuint unit = _lists.Pop(found);
        _states.ClearFree(_states.Node(found, unit));
        // Keep the lower half at each step; the upper halves become free blocks, largest first.
        for (int k = found - 1; k >= order; k--)
            PushFree(k, unit + ((nuint)1 << k));

        _states.SetLive(_states.Node(order, unit));
        _freeBytes -= _minBlockSize << order;
        block = _base + (unit << _unitShift);
        return true;
    }

    /// <summary>Gives back <paramref name="block"/>, returned by <see cref="Allocate"/>. <paramref name="size"/> and
    /// <paramref name="alignment"/> must map to the same block size as when it was allocated (see
    /// <see cref="AllocationSize"/>). The block merges with its free buddies. Throws <see cref="BuddyHeapException"/>,
    /// leaving the heap unchanged: with <see cref="BuddyHeapException.AllocationError"/> when the size and alignment
    /// are invalid (as for <see cref="AllocationSize"/>); otherwise with
    /// <see cref="BuddyHeapException.DeallocationError"/> when the pointer is outside the heap, inside a live block, in
    /// free memory (double free), or starts a live block of another size.</summary>
    public void Deallocate(void* block, nuint size, nuint alignment)
    {
        if (!TryGetOrder(size, alignment, out int order, out HeapAllocationError layoutError))
            ThrowHelper.HeapAllocation(layoutError, size, alignment, _heapSize, MaxAlignment);

        // Unsigned: an address below the base wraps to a huge offset.
        nuint offset = (nuint)block - (nuint)_base;
        if (offset >= _heapSize)
            ThrowHelper.HeapDeallocation(HeapDeallocationError.ForeignPointer, (nuint)block, size, alignment);

        nuint unit = offset >> _unitShift;
        nuint node = _states.Node(order, unit);
        if ((offset & ((_minBlockSize << order) - 1)) != 0 || !_states.IsLive(node))
            ThrowBadFree(offset, size, alignment);

        _states.ClearLive(node);
        _freeBytes += _minBlockSize << order;
        for (; order < _top; order++)
        {
            // The buddy is the sibling node; once merged, the pair is the parent node at the lower unit.
            if (!_states.IsFree(node ^ 1))
                break;
            nuint buddy = unit ^ ((nuint)1 << order);
            _lists.Remove(order, buddy);
            _states.ClearFree(node ^ 1);
            unit &= ~((nuint)1 << order);
            node >>= 1;
        }
        _lists.Push(order, unit);
        _states.SetFree(node);
    }

    /// <summary>The order of the block a request of <paramref name="size"/> bytes aligned to
    /// <paramref name="alignment"/> takes (0 for <see cref="MinBlockSize"/>); throws like
    /// <see cref="AllocationSize"/>.</summary>
    internal int AllocationOrder(nuint size, nuint alignment)
    {
        if (!TryGetOrder(size, alignment, out int order, out HeapAllocationError error))
            ThrowHelper.HeapAllocation(error, size, alignment, _heapSize, MaxAlignment);
        return order;
    }

    /// <summary>The buddy of the order-<paramref name="order"/> block at <paramref name="block"/>, or null for the
    /// whole heap.</summary>
    internal void* Buddy(int order, void* block)
    {
        Debug.Assert(block >= _base && order >= 0 && order <= _top);
        if (order == _top)
            return null;
        return _base + (((nuint)((byte*)block - _base)) ^ (_minBlockSize << order));
    }

    /// <summary>The offsets from the base of the blocks on each free list, head first (diagnostics and
    /// tests).</summary>
    internal List<nuint>[] FreeListOffsets()
    {
        var lists = new List<nuint>[_top + 1];
        for (int k = 0; k <= _top; k++)
        {
            lists[k] = new List<nuint>();
            _lists.CopyTo(k, lists[k]);
            for (int i = 0; i < lists[k].Count; i++)
                lists[k][i] <<= _unitShift;
        }
        return lists;
    }

    /// <summary>Checks every invariant of the class summary by walking the lists and the side table; throws
    /// <see cref="InvalidOperationException"/> on the first violation (diagnostics and tests).</summary>
    internal void CheckInvariants()
    {
        nuint listed = 0, freeBytes = 0;
        for (int k = 0; k <= _top; k++)
        {
            var units = new List<nuint>();
            _lists.CopyTo(k, units);
            Require(_lists.IsMarkedNonEmpty(k) == (units.Count > 0), $"non-empty mask of order {k}");
            for (int i = 0; i < units.Count; i++)
            {
                nuint unit = units[i];
                Require((unit & (((nuint)1 << k) - 1)) == 0 && (unit << _unitShift) < _heapSize,
                    $"block {unit} of order {k} misplaced");
                Require(_states.IsFree(_states.Node(k, unit)), $"listed block {unit} of order {k} not marked free");
                if (k < _top)
                    Require(_lists.PrevOf(unit) == (i == 0 ? FreeLists.None : (uint)units[i - 1]),
                        $"prev link of block {unit}");
                freeBytes += _minBlockSize << k;
            }
            listed += (nuint)units.Count;
        }
        Require(freeBytes == _freeBytes, $"FreeBytes {_freeBytes} but lists hold {freeBytes}");

        // Walk the tree from the root: a marked node ends the walk; an unmarked one must have been split.
        nuint marked = 0;
        var pending = new Stack<(int Order, nuint Unit)>();
        pending.Push((_top, 0));
        while (pending.Count > 0)
        {
            var (k, unit) = pending.Pop();
            nuint node = _states.Node(k, unit);
            bool free = _states.IsFree(node), live = _states.IsLive(node);
            Require(!(free && live), $"node {node} both free and live");
            if (free)
            {
                marked++;
                Require(k == _top || !_states.IsFree(node ^ 1), $"free buddies at order {k}, unit {unit}");
            }
            if (free || live)
                continue;
            Require(k > 0, $"minimum block {unit} neither free nor live");
            pending.Push((k - 1, unit + ((nuint)1 << (k - 1))));
            pending.Push((k - 1, unit));
        }
        Require(marked == listed, $"{marked} blocks marked free but {listed} listed");
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
            throw new InvalidOperationException($"BuddyHeap invariant broken: {what}.");
    }

    /// <summary>Checks the creation rules in the reference's order (see <see cref="HeapError"/>); the first broken one
    /// goes to <paramref name="error"/>.</summary>
    private static bool IsValid(void* heapBase, nuint heapSize, int orders, out HeapError error)
    {
        nuint address = (nuint)heapBase;
        if (address == 0 || (address & (MaxAlignment - 1)) != 0)
            error = HeapError.BadBaseAlignment;
        else if (orders < 1)
            error = HeapError.BadHeapSize;
        // A shift by the word size or more would wrap in hardware; mathematically the block is 0 bytes.
        else if ((orders - 1 >= sizeof(nuint) * 8 ? 0 : heapSize >> (orders - 1)) < SmallestMinBlockSize)
            error = HeapError.MinBlockTooSmall;
        else if (!BitOperations.IsPow2(heapSize))
            error = HeapError.BadSizeAlignment;
        else if (orders > MaxOrders)
            error = HeapError.TooManyOrders;
        else if (heapSize - 1 > nuint.MaxValue - address)
            error = HeapError.BadHeapSize;
        else
        {
            error = default;
            return true;
        }
        return false;
    }

    /// <summary>The order of the block a request takes, or the reason it cannot be met.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetOrder(nuint size, nuint alignment, out int order, out HeapAllocationError error)
    {
        order = 0;
        // Alignment first, as in the reference: a huge request with a bad alignment is BadAlignment.
        if (!BitOperations.IsPow2(alignment) || alignment > MaxAlignment)
        {
            error = HeapAllocationError.BadAlignment;
            return false;
        }
        if (size < alignment)
            size = alignment;
        // The heap size is a power of two, so rounding up exceeds it iff the size already does.
        if (size > _heapSize)
        {
            error = HeapAllocationError.TooLarge;
            return false;
        }
        if (size > _minBlockSize)
            order = BitOperations.Log2(size - 1) + 1 - _unitShift;
        error = default;
        return true;
    }

    /// <summary>Makes the block of order <paramref name="order"/> at <paramref name="unit"/> a free block: on its list
    /// and marked free.</summary>
    private void PushFree(int order, nuint unit)
    {
        _lists.Push(order, unit);
        _states.SetFree(_states.Node(order, unit));
    }

    /// <summary>Works out why the pointer at <paramref name="offset"/> from the base cannot be freed, and
    /// throws.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadFree(nuint offset, nuint size, nuint alignment)
    {
        // The marked blocks tile the heap: exactly one of the blocks containing the offset is free or live.
        HeapDeallocationError error = HeapDeallocationError.NotAllocated;
        nuint unit = offset >> _unitShift;
        for (int k = 0; k <= _top; k++)
        {
            nuint node = _states.Node(k, unit);
            if (_states.IsFree(node))
                break;
            if (_states.IsLive(node))
            {
                nuint start = (unit >> k << k) << _unitShift;
                error = start == offset ? HeapDeallocationError.SizeMismatch : HeapDeallocationError.NotBlockStart;
                break;
            }
        }
        ThrowHelper.HeapDeallocation(error, (nuint)(_base + offset), size, alignment);
    }
}
