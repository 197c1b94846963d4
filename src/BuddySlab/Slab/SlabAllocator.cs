using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// Objects of 8 to 8192 bytes for one CPU, from slabs of one or more pages that the caller supplies.
/// <para>
/// Per size class the allocator keeps a <b>partial</b> list (slabs with free objects; allocation takes from its
/// head), a <b>full</b> list, at most one cached <b>empty</b> slab, and a lock-free <b>pending</b> stack of slabs
/// that other CPUs freed objects into. Every operation is O(1): no list is ever scanned. Slabs emptied beyond
/// the one cached wait for the caller in <see cref="TryTakeEmptySlab"/>. The classes above 2048 bytes keep no emptied
/// slab: theirs are 8 to 32 pages, resident whole (every object's first word is written when the slab is made), and a
/// class a program uses for a few blocks would keep one on every CPU for as long as it runs; the caller's page caches,
/// which a budget and the purge passes bound, take them instead.
/// </para>
/// <para>
/// The standalone protocol, as a kernel drives it: <see cref="Allocate"/> answers an object or
/// <see cref="SlabAllocStatus.NeedsSlab"/> (take the pages from a <see cref="BuddyAllocator"/>, aligned to the slab
/// size, mark them <see cref="PageFlags.Slab"/>, call <see cref="AddSlab"/>, retry); <see cref="Free(void*, nuint, nuint)"/>
/// answers done or a slab to give back.
/// </para>
/// <para>
/// <b>Threading.</b> One owner at a time (the global allocator holds the CPU's lock). Frees from other CPUs are
/// the exception: a free of an object whose slab another allocator owns is pushed lock-free on that slab and
/// drained by the owner at its next operation on the class.
/// </para>
/// </summary>
public sealed unsafe class SlabAllocator
{
    private readonly SizeClassTable _table;
    private readonly ClassLists[] _lists;
    private readonly nint[] _pendingArray;    // pinned: slabs hold a pointer into it
    private readonly nint* _pending;
    private SlabHeader* _emptied;          // emptied slabs waiting to go back to the page allocator, linked by Next
    private nuint _slabCount;

    /// <summary>Per class: the three lists and how many slabs the class holds.</summary>
    private struct ClassLists
    {
        public SlabHeader* Partial;
        public SlabHeader* Full;
        public SlabHeader* Empty;
    }

    /// <summary>Creates the allocator of CPU <paramref name="cpu"/> for pages of <paramref name="pageSize"/> bytes.</summary>
    public SlabAllocator(int pageSize = 4096, int cpu = 0)
    {
        PageSizes.ThrowIfInvalidForSlabs(pageSize, nameof(pageSize));
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cpu, ushort.MaxValue);
        _table = SizeClassTable.For(pageSize);
        _lists = new ClassLists[SizeClassTable.Sizes.Length];
        _pendingArray = GC.AllocateArray<nint>(SizeClassTable.Sizes.Length, pinned: true);
        _pending = (nint*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_pendingArray));
        Cpu = cpu;
    }

    /// <summary>The CPU this allocator serves; recorded as the owner of its slabs.</summary>
    public int Cpu { get; }

    /// <summary>The secret in free marks (<c>address ^ cookie</c> in a free object's first word, see <see cref="SlabHeader"/>):
    /// random, or the global allocator's, which all its CPUs share.</summary>
    internal nuint Cookie { get; set; } = (nuint)Random.Shared.NextInt64() | 1;

    /// <summary>The page size in bytes.</summary>
    public int PageSize => _table.PageSize;

    /// <summary>Slabs this allocator owns, including the cached empty ones and those waiting in <see cref="TryTakeEmptySlab"/>.</summary>
    public nuint SlabCount => _slabCount;

    /// <summary>The classes this allocator uses.</summary>
    public ReadOnlySpan<SizeClass> Classes => _table.Classes;

    /// <summary>An object of <paramref name="size"/> bytes aligned to <paramref name="alignment"/>, or a request for a slab.</summary>
    public SlabAllocResult Allocate(nuint size, nuint alignment)
    {
        int cls = ClassOf(size, alignment);
        nuint address = TryAllocate(cls);
        ref readonly SizeClass c = ref _table.Classes[cls];
        return address != 0
            ? new SlabAllocResult(SlabAllocStatus.Allocated, address, c, 0)
            : new SlabAllocResult(SlabAllocStatus.NeedsSlab, 0, c, (nuint)c.SlabPages);
    }

    /// <summary>Adds a slab for <paramref name="sizeClass"/>: <paramref name="bytes"/> must be the class's slab size and
    /// <paramref name="address"/> a multiple of it.</summary>
    public void AddSlab(SizeClass sizeClass, nuint address, nuint bytes)
    {
        if ((uint)sizeClass.Index >= (uint)_table.Classes.Length || _table.Classes[sizeClass.Index] != sizeClass)
            ThrowHelper.Throw(AllocError.InvalidParam, $"Size class {sizeClass.Index} ({sizeClass.ObjectSize} bytes) is not a class of this allocator.");
        int slabBytes = _table.SlabBytes[sizeClass.Index];
        if (bytes != (nuint)slabBytes)
            ThrowHelper.Throw(AllocError.InvalidParam, $"A slab of class {sizeClass.ObjectSize} is {slabBytes} bytes, not {bytes}.");
        if (address == 0 || address % (nuint)slabBytes != 0)
            ThrowHelper.Throw(AllocError.InvalidParam, $"Slab address 0x{address:x} is not aligned to the slab size {slabBytes}.");
        AddSlabUnchecked(sizeClass.Index, address);
    }

    /// <summary>Frees an object allocated with <paramref name="size"/> and <paramref name="alignment"/>. An object owned by
    /// another allocator is handed to it lock-free. The slab header is read at the address rounded down to the class's
    /// slab size, so the pointer must lie in memory the caller manages (as a kernel's pointers do); within it, interior,
    /// misaligned, wrong-class and double frees throw <see cref="AllocatorException"/>. The global allocator
    /// checks the page records before it looks.</summary>
    public SlabFreeResult Free(void* pointer, nuint size, nuint alignment)
    {
        int cls = ClassOf(size, alignment);
        nuint address = (nuint)pointer;
        var s = (SlabHeader*)(address & ~(nuint)(_table.SlabBytes[cls] - 1));
        if (pointer == null || s->Magic != SlabHeader.MagicValue || s->ClassIndex != cls)
            ThrowHelper.NotAllocated(address, $"is not an object of the {_table.Classes[cls].ObjectSize}-byte class");
        if (s->OwnerPending != _pending)
        {
            RemoteFree.Push(s, address, Cookie);
            return default;
        }
        FreeError error = TryFreeLocal(s, address);
        if (error != FreeError.None) ThrowHelper.FreeError(error, address);
        return TryTakeEmptySlab(out nuint slab, out nuint pages)
            ? new SlabFreeResult(SlabFreeStatus.FreeSlab, slab, pages)
            : default;
    }

    /// <summary>Hands over one slab that became empty (beyond the one cached per class). Call until false after operations
    /// that drain remote frees, or after <see cref="Trim"/>.</summary>
    public bool TryTakeEmptySlab(out nuint address, out nuint pages)
    {
        SlabHeader* s = _emptied;
        if (s == null)
        {
            address = 0;
            pages = 0;
            return false;
        }
        _emptied = s->Next;
        _slabCount--;
        address = (nuint)s;
        pages = s->SlabBytes / (nuint)_table.PageSize;
        s->Magic = 0;                       // a stale pointer into it no longer looks like a slab
        return true;
    }

    /// <summary>Drains every pending remote free and gives up the cached empty slabs (see <see cref="TryTakeEmptySlab"/>).</summary>
    public void Trim()
    {
        for (int cls = 0; cls < _lists.Length; cls++)
        {
            if (_pending[cls] != 0) DrainPending(cls);
            ref ClassLists lists = ref _lists[cls];
            if (lists.Empty != null)
            {
                SlabHeader* s = lists.Empty;
                lists.Empty = null;
                s->List = SlabList.None;
                QueueEmptied(s);
            }
        }
    }

    // ---- fast paths, used by the global allocator under the CPU lock ----

    internal SizeClassTable Table => _table;

    internal bool HasEmptySlabs => _emptied != null;

    /// <summary>True when some class has remote frees waiting (a read of each class's stack head, no lock needed).</summary>
    internal bool HasPending
    {
        get
        {
            for (int cls = 0; cls < _lists.Length; cls++)
                if (Volatile.Read(ref _pending[cls]) != 0) return true;
            return false;
        }
    }

    /// <summary>Drains the remote frees waiting in every class (for a purge pass: an owner that never comes back to a
    /// class would otherwise leave them until <see cref="Trim"/>).</summary>
    internal void DrainAllPending()
    {
        for (int cls = 0; cls < _lists.Length; cls++) DrainPendingIfAny(cls);
    }

    internal int ClassOf(nuint size, nuint alignment)
    {
        if (!AddressMath.IsPowerOfTwo(alignment)) ThrowHelper.InvalidAlignment(alignment);
        int cls = _table.Find(size, alignment);
        if (cls < 0)
            ThrowHelper.Throw(AllocError.InvalidParam, $"A request of {size} bytes aligned to {alignment} has no slab class (classes hold at most {SizeClass.MaxObjectSize} bytes, aligned to at most {SizeClassTable.MaxClassAlignment}; above {SizeClassTable.MaxSmallObjectSize} bytes, aligned to at most {SizeClassTable.LargeClassAlignment} and never a whole number of pages).");
        return cls;
    }

    /// <summary>An object of class <paramref name="cls"/>, or 0 when the class needs a new slab.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal nuint TryAllocate(int cls)
    {
        if (_pending[cls] != 0) DrainPending(cls);
        ref ClassLists lists = ref _lists[cls];
        SlabHeader* s = lists.Partial;
        if (s == null) return Refill(ref lists);
        nuint address = SlabHeader.TakeObject(s);
        if (s->FreeCount == 0) MoveToFull(ref lists, s);
        return address;
    }

    /// <summary>Takes up to <paramref name="want"/> objects of class <paramref name="cls"/> into <paramref name="items"/> (a
    /// magazine refill): whole bitmap words at a time from the partial slabs, then the cached empty slab. Answers how
    /// many; fewer than asked means the class needs a new slab.</summary>
    internal int TryAllocateBatch(int cls, nuint* items, int want)
    {
        if (_pending[cls] != 0) DrainPending(cls);
        ref ClassLists lists = ref _lists[cls];
        int n = 0;
        while (n < want)
        {
            SlabHeader* s = lists.Partial;
            if (s == null)
            {
                nuint address = Refill(ref lists);
                if (address == 0) break;
                items[n++] = address;
                continue;
            }
            n += SlabHeader.TakeObjects(s, items + n, want - n);
            if (s->FreeCount == 0) MoveToFull(ref lists, s);
        }
        return n;
    }

    /// <summary>Frees an object of a slab this allocator owns. A bad pointer changes nothing and is reported, so the
    /// caller can leave its lock before throwing (<c>ThrowHelper.FreeError</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal FreeError TryFreeLocal(SlabHeader* s, nuint address)
    {
        int index = SlabHeader.IndexOf(s, address);
        if (index < 0) return FreeError.NotAnObject;
        if (SlabHeader.IsFreeOrPending(s, index)) return FreeError.DoubleFree;
        SlabHeader.PutObject(s, index);
        *(nuint*)address = address ^ Cookie;
        if (s->FreeCount == 1 || s->FreeCount == s->ObjectCount) Relist(s);
        if (_pending[s->ClassIndex] != 0) DrainPending(s->ClassIndex);
        return FreeError.None;
    }

    /// <summary>Frees an object of a slab this allocator owns that is known to be live, to start an object and to carry
    /// its free mark (it was checked and marked when it entered a magazine). Pending remote frees are left for
    /// <see cref="DrainPendingIfAny"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreeChecked(SlabHeader* s, nuint address)
    {
        SlabHeader.PutObject(s, SlabHeader.KnownIndexOf(s, address));
        if (s->FreeCount == 1 || s->FreeCount == s->ObjectCount) Relist(s);
    }

    /// <summary>Drains the remote frees pending for class <paramref name="cls"/>, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void DrainPendingIfAny(int cls)
    {
        if (_pending[cls] != 0) DrainPending(cls);
    }

    /// <summary>Formats a slab at <paramref name="address"/> for class <paramref name="cls"/> as the class's cached empty slab,
    /// which the next allocation takes when no partial slab has room. If an empty slab is cached already (remote frees
    /// drained meanwhile emptied one), the new one is not needed and waits for release. Either way no slab with every
    /// object free ever sits on the partial list, where <see cref="Trim"/> would not find it.</summary>
    internal void AddSlabUnchecked(int cls, nuint address)
    {
        SlabHeader* s = SlabHeader.Format(address, _table.Classes[cls], _table.SlabBytes[cls], _table.BitmapWords[cls],
            Cpu, _pending);
        _slabCount++;
        ref ClassLists lists = ref _lists[cls];
        if (lists.Empty == null)
        {
            lists.Empty = s;
            s->List = SlabList.Empty;
        }
        else
        {
            QueueEmptied(s);
        }
    }

    /// <summary>Takes the whole chain of slabs waiting to be released (linked by <c>Next</c>).</summary>
    internal SlabHeader* TakeEmptySlabs()
    {
        SlabHeader* chain = _emptied;
        _emptied = null;
        for (SlabHeader* s = chain; s != null; s = s->Next) _slabCount--;
        return chain;
    }

    /// <summary>Bytes of the empty slabs kept for reuse and of those waiting to go back (under the owner's lock).</summary>
    internal nuint CachedEmptySlabBytes
    {
        get
        {
            nuint bytes = 0;
            for (int cls = 0; cls < _lists.Length; cls++)
                if (_lists[cls].Empty != null) bytes += _lists[cls].Empty->SlabBytes;
            for (SlabHeader* s = _emptied; s != null; s = s->Next) bytes += s->SlabBytes;
            return bytes;
        }
    }

    /// <summary>Adds this allocator's slabs, class by class, to <paramref name="into"/> (indexed by class): slabs (the cached
    /// empty ones and those waiting to go back included), objects out of them, objects free in them, remote frees
    /// announced and not yet drained, and bytes. For a statistics snapshot: under the owner's lock, O(slabs).</summary>
    internal void AddClassStatistics(SizeClassStatistics[] into)
    {
        for (int cls = 0; cls < _lists.Length; cls++)
        {
            ref ClassLists lists = ref _lists[cls];
            for (SlabHeader* s = lists.Partial; s != null; s = s->Next) Add(into, s);
            for (SlabHeader* s = lists.Full; s != null; s = s->Next) Add(into, s);
            if (lists.Empty != null) Add(into, lists.Empty);
        }
        for (SlabHeader* s = _emptied; s != null; s = s->Next) Add(into, s);

        static void Add(SizeClassStatistics[] into, SlabHeader* s)
        {
            ref SizeClassStatistics c = ref into[s->ClassIndex];
            int taken = s->ObjectCount - s->FreeCount;
            // Counted by a remote freer before its object is on the list: never more than the objects out of the slab.
            int remote = Math.Clamp(Volatile.Read(ref s->RemoteCount), 0, taken);
            c = c with
            {
                Slabs = c.Slabs + 1,
                ObjectsInUse = c.ObjectsInUse + (nuint)(taken - remote),
                FreeObjects = c.FreeObjects + s->FreeCount,
                RemoteFrees = c.RemoteFrees + (nuint)remote,
                SlabBytes = c.SlabBytes + s->SlabBytes,
            };
        }
    }

    /// <summary>The lists of a class, for inspection: (partial, full, empty) slab counts. O(slabs): tests only.</summary>
    internal (int Partial, int Full, int Empty) CountLists(int cls)
    {
        ref ClassLists lists = ref _lists[cls];
        return (Count(lists.Partial), Count(lists.Full), lists.Empty == null ? 0 : 1);
        static int Count(SlabHeader* s) { int n = 0; for (; s != null; s = s->Next) n++; return n; }
    }

    // ---- cold paths ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private nuint Refill(ref ClassLists lists)
    {
        SlabHeader* s = lists.Empty;
        if (s == null) return 0;
        lists.Empty = null;
        PushFront(ref lists.Partial, s, SlabList.Partial);
        nuint address = SlabHeader.TakeObject(s);
        if (s->FreeCount == 0) MoveToFull(ref lists, s);
        return address;
    }

    /// <summary>Drains the slabs other CPUs freed into, for class <paramref name="cls"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DrainPending(int cls)
    {
        var s = (SlabHeader*)Interlocked.Exchange(ref _pending[cls], 0);
        while (s != null)
        {
            SlabHeader* next = s->PendingNext;
            DrainSlab(s);
            s = next;
        }
    }

    private static void DrainSlabObjects(SlabHeader* s, out int drained)
    {
        nuint address = Interlocked.Exchange(ref s->RemoteHead, 0);
        ulong* remote = SlabHeader.RemoteBits(s);
        drained = 0;
        int word = -1;
        ulong mask = 0;                                  // remote bits to clear, one atomic AND per word
        while (address != 0 && drained < s->ObjectCount)
        {
            nuint next = SlabHeader.LinkOf(s, address);
            int index = SlabHeader.IndexOf(s, address);
            if (index >> 6 != word)
            {
                if (mask != 0) Interlocked.And(ref remote[word], ~mask);
                word = index >> 6;
                mask = 0;
            }
            mask |= 1ul << index;
            SlabHeader.PutObject(s, index);
            drained++;
            address = next;
        }
        if (mask != 0) Interlocked.And(ref remote[word], ~mask);
    }

    private void DrainSlab(SlabHeader* s)
    {
        DrainSlabObjects(s, out int drained);
        // Objects counted but not yet pushed keep the slab pending (and alive).
        if (Interlocked.Add(ref s->RemoteCount, -drained) > 0) RemoteFree.PushPending(s);
        if (drained > 0) Relist(s);
    }

    /// <summary>Moves a slab whose free count changed to the list that now fits it.</summary>
    private void Relist(SlabHeader* s)
    {
        ref ClassLists lists = ref _lists[s->ClassIndex];
        if (s->FreeCount == s->ObjectCount && Volatile.Read(ref s->RemoteCount) == 0)
        {
            Unlink(ref lists, s);
            if (lists.Empty == null && s->ObjectSize <= SizeClassTable.MaxSmallObjectSize)
            {
                lists.Empty = s;
                s->List = SlabList.Empty;
            }
            else
            {
                QueueEmptied(s);
            }
        }
        else if (s->List == SlabList.Full)
        {
            Unlink(ref lists, s);
            PushFront(ref lists.Partial, s, SlabList.Partial);
        }
    }

    private void MoveToFull(ref ClassLists lists, SlabHeader* s)
    {
        Unlink(ref lists, s);
        PushFront(ref lists.Full, s, SlabList.Full);
    }

    private void QueueEmptied(SlabHeader* s)
    {
        s->List = SlabList.None;
        s->Prev = null;
        s->Next = _emptied;
        _emptied = s;
    }

    private static void PushFront(ref SlabHeader* head, SlabHeader* s, SlabList list)
    {
        s->List = list;
        s->Prev = null;
        s->Next = head;
        if (head != null) head->Prev = s;
        head = s;
    }

    private static void Unlink(ref ClassLists lists, SlabHeader* s)
    {
        if (s->Prev != null) s->Prev->Next = s->Next;
        else if (s->List == SlabList.Partial) lists.Partial = s->Next;
        else if (s->List == SlabList.Full) lists.Full = s->Next;
        if (s->Next != null) s->Next->Prev = s->Prev;
        s->Prev = s->Next = null;
        s->List = SlabList.None;
    }
}
