using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Caches;

/// <summary>
/// A magazine (Bonwick and Adams, 2001): a small stack of free objects of one size class, in native memory.
/// A thread allocates by popping its loaded magazine and frees by pushing onto it, with no lock and no atomic
/// operation; only a full or empty magazine goes to the CPU's depot, in one locked step.
/// Layout: this header, then <see cref="Capacity"/> object addresses.
/// <para><b>Marks.</b> Every object in a magazine carries a free mark in its first word: the low 16 bits of
/// <c>address ^ cookie</c>, what every free mark of the allocator shares (the free path's quick test), and above them
/// the address of the slot that holds it. Two threads that free one object at the same instant can both push it (only
/// an atomic operation per free could stop that), but only the slot the object's mark names may hand it out: another
/// slot holding it finds a different mark on <see cref="TryPop"/> (or on a flush) and drops the entry. A slot that drops
/// such an entry can never come to hold the object again while the stale entry is there: pushes go above it, and a
/// refill only fills an empty magazine. A flush to the slabs sets the object's mark to <see cref="TransitMark"/> before it
/// frees the object there and to the plain mark after, and a free that found the object marked pushes it only with a
/// compare-and-swap on the mark it judged (<see cref="TryPushIfUnchanged"/>): whichever way such a free and a flush
/// interleave, the object ends up in exactly one of the two. So no object is handed out twice (the one window left
/// is a free on the fast path, whose plain write lands after another thread freed the same object, filled a magazine
/// with it and flushed that, all between the fast path's read of the mark and its write).</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Magazine
{
    public int Count;
    public int Capacity;
    public Magazine* Next;          // link while the magazine sits in a depot list
    public nuint Cookie;            // the allocator's free-mark cookie

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint* Items(Magazine* m) => (nuint*)(m + 1);

    /// <summary>Objects per magazine for objects of <paramref name="objectSize"/> bytes: about 16 KiB of objects, 16 to 128
    /// of them (docs/tuning.md says how that was chosen); above 2048 bytes, at most <see cref="LargeObjectBytes"/> of
    /// objects and at least <see cref="MinCapacity"/> (2 to 7 objects).</summary>
    public static int CapacityFor(int objectSize) => objectSize > LargeObjectsAbove
        ? Math.Max(MinCapacity, LargeObjectBytes / objectSize)
        : Math.Clamp(16384 / objectSize, SmallCapacity, 128);

    /// <summary>The fewest objects a magazine of a class up to <see cref="LargeObjectsAbove"/> bytes holds; every magazine
    /// of a larger class holds fewer.</summary>
    public const int SmallCapacity = 16;

    /// <summary>The object size above which a magazine is bounded by <see cref="LargeObjectBytes"/> rather than holding at
    /// least <see cref="SmallCapacity"/> objects.</summary>
    public const int LargeObjectsAbove = 2048;

    /// <summary>The most bytes of objects a magazine of a class above <see cref="LargeObjectsAbove"/> bytes holds. A thread
    /// keeps two magazines per class, and a program that uses these classes sparsely (a pipe whose reader frees what its
    /// writer allocates) would otherwise park 16 objects of up to 8 KiB in each of them, per class and per thread.</summary>
    public const int LargeObjectBytes = 16384;

    /// <summary>The fewest objects a magazine holds (the largest classes'): two, so a magazine still spares the CPU's lock
    /// every other call.</summary>
    public const int MinCapacity = 2;

    /// <summary>Bytes a magazine of <paramref name="capacity"/> objects takes: the header and the slots.</summary>
    public static int BytesFor(int capacity) => sizeof(Magazine) + capacity * sizeof(nuint);

    /// <summary>The free mark of the object at <paramref name="address"/> held in <paramref name="slot"/> (see the type's comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint MarkOf(nuint address, nuint* slot, nuint cookie) => ((address ^ cookie) & 0xFFFF) | ((nuint)slot << 13);

    /// <summary>Pops the newest object whose mark names its slot and clears the mark; false when there is none. An entry
    /// whose object carries another mark is dropped (see the type's comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryPop(Magazine* m, out nuint address)
    {
        int n = m->Count - 1;
        if (n < 0)
        {
            address = 0;
            return false;
        }
        m->Count = n;
        nuint* slot = Items(m) + n;
        address = *slot;
        if (*(nuint*)address != MarkOf(address, slot, m->Cookie)) return TryPopPastStrangers(m, out address);
        *(nuint*)address = 0;
        return true;
    }

    /// <summary>The rest of <see cref="TryPop"/> after an entry whose object carried another mark: such entries are
    /// dropped until one is this magazine's.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool TryPopPastStrangers(Magazine* m, out nuint address)
    {
        while (m->Count > 0)
        {
            nuint* slot = Items(m) + --m->Count;
            address = *slot;
            if (*(nuint*)address != MarkOf(address, slot, m->Cookie)) continue;
            *(nuint*)address = 0;
            return true;
        }
        address = 0;
        return false;
    }

    /// <summary>Pushes a freed object and writes its mark; false (nothing done) when the magazine is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryPush(Magazine* m, nuint address)
    {
        int n = m->Count;
        if (n == m->Capacity) return false;
        nuint* slot = Items(m) + n;
        *slot = address;
        m->Count = n + 1;
        *(nuint*)address = MarkOf(address, slot, m->Cookie);
        return true;
    }

    /// <summary>The mark of an object on its way from a magazine to its slab: no slot's, and not the plain one (a free that
    /// finds it waits out any flush under way, then judges the word again: a live object's data can match it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint TransitMark(nuint address, nuint cookie) => ((address ^ cookie) & 0xFFFF) | ~(nuint)0xFFFF;

    /// <summary>Pushes a freed object whose first word still reads <paramref name="judged"/> (what the caller checked),
    /// writing its mark with a compare-and-swap: 1 when pushed, 0 when the magazine is full, -1 when the word changed
    /// since (another thread freed or flushed the object meanwhile: the caller judges it again).</summary>
    public static int TryPushIfUnchanged(Magazine* m, nuint address, nuint judged)
    {
        int n = m->Count;
        if (n == m->Capacity) return 0;
        nuint* slot = Items(m) + n;
        *slot = address;
        if (Interlocked.CompareExchange(ref *(nuint*)address, MarkOf(address, slot, m->Cookie), judged) != judged) return -1;
        m->Count = n + 1;
        return 1;
    }

    /// <summary>True when the object in slot <paramref name="i"/> carries that slot's mark (it is this magazine's to hand
    /// out or flush).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsOwnMark(Magazine* m, int i)
    {
        nuint* slot = Items(m) + i;
        return *(nuint*)*slot == MarkOf(*slot, slot, m->Cookie);
    }

    /// <summary>Writes each object's mark (after a refill from the slabs, whose objects carry the plain free mark).</summary>
    public static void MarkAll(Magazine* m)
    {
        nuint* items = Items(m);
        for (int i = 0; i < m->Count; i++) *(nuint*)items[i] = MarkOf(items[i], items + i, m->Cookie);
    }

    /// <summary>A new empty magazine of <paramref name="capacity"/> slots, from <paramref name="arena"/>, for an allocator whose
    /// free marks use <paramref name="cookie"/>.</summary>
    public static Magazine* Create(MetadataArena arena, int capacity, nuint cookie)
    {
        var m = (Magazine*)arena.Allocate((nuint)BytesFor(capacity));
        m->Count = 0;
        m->Capacity = capacity;
        m->Next = null;
        m->Cookie = cookie;
        return m;
    }

    /// <summary>Gives a magazine back to the arena it came from.</summary>
    public static void Destroy(MetadataArena arena, Magazine* m)
    {
        int capacity = m->Capacity;
        Poison(m);
        arena.Free(m, (nuint)BytesFor(capacity));
    }

    /// <summary>Debug builds overwrite a destroyed magazine's header, so a use after destruction shows (a count and
    /// capacity of -1) instead of reading what the system allocator left.</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private static void Poison(Magazine* m) => m->Count = m->Capacity = -1;

    /// <summary>Frees every magazine of a chain linked by <see cref="Next"/>.</summary>
    public static void DestroyChain(MetadataArena arena, Magazine* chain)
    {
        while (chain != null)
        {
            Magazine* next = chain->Next;
            Destroy(arena, chain);
            chain = next;
        }
    }

    /// <summary>True when the object at <paramref name="address"/>, whose first word reads <paramref name="mark"/>, sits in
    /// this magazine: the slot the mark names is one of its live slots and holds the object. No scan: a double-free check
    /// costs a few compares per magazine.</summary>
    public static bool Contains(Magazine* m, nuint address, nuint mark)
    {
        var slot = (nuint*)((mark >> 16) << 3);      // the inverse of MarkOf's upper part
        nuint* items = Items(m);
        return slot >= items && slot < items + m->Count && *slot == address && mark == MarkOf(address, slot, m->Cookie);
    }
}
