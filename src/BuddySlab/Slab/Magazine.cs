using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// A magazine (Bonwick and Adams, 2001): a small stack of free objects of one size class, in native memory.
/// A thread allocates by popping its loaded magazine and frees by pushing onto it, with no lock and no atomic
/// operation; only a full or empty magazine goes to the CPU's depot, in one locked step.
/// Layout: this header, then <see cref="Capacity"/> object addresses.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Magazine
{
    public int Count;
    public int Capacity;
    public Magazine* Next;          // link while the magazine sits in a depot list

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint* Items(Magazine* m) => (nuint*)(m + 1);

    /// <summary>Objects per magazine for objects of <paramref name="objectSize"/> bytes: about 16 KiB of objects, 16 to 128 of them.
    /// (8 KiB and 8 to 64 exchanged magazines twice as often: random frees of 10,000 mixed objects took 18.7 ns each, now 11.5.)</summary>
    public static int CapacityFor(int objectSize) => Math.Clamp(16384 / objectSize, 16, 128);

    /// <summary>Bytes a magazine of <paramref name="capacity"/> objects takes: the header and the slots.</summary>
    public static int BytesFor(int capacity) => sizeof(Magazine) + capacity * sizeof(nuint);

    public static Magazine* Create(int capacity)
    {
        var m = (Magazine*)NativeMemory.Alloc((nuint)BytesFor(capacity));
        m->Count = 0;
        m->Capacity = capacity;
        m->Next = null;
        return m;
    }

    public static void Destroy(Magazine* m)
    {
        Poison(m);
        NativeMemory.Free(m);
    }

    /// <summary>Debug builds overwrite a destroyed magazine's header, so a use after destruction shows (a count and
    /// capacity of -1) instead of reading what the system allocator left.</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private static void Poison(Magazine* m) => m->Count = m->Capacity = -1;

    /// <summary>Frees every magazine of a chain linked by <see cref="Next"/>.</summary>
    public static void DestroyChain(Magazine* chain)
    {
        while (chain != null)
        {
            Magazine* next = chain->Next;
            Destroy(chain);
            chain = next;
        }
    }

    /// <summary>True when <paramref name="address"/> is among the magazine's objects (a linear scan: cold paths only).</summary>
    public static bool Contains(Magazine* m, nuint address)
    {
        nuint* items = Items(m);
        for (int i = 0; i < m->Count; i++)
            if (items[i] == address) return true;
        return false;
    }
}

/// <summary>
/// One CPU's depot for one size class: full magazines waiting for an allocating thread and empty ones waiting
/// for a freeing thread. Bounded, so a thread that only frees never strands memory here: beyond the bound a
/// full magazine is flushed to the slabs instead. Guarded by the CPU's lock.
/// </summary>
internal unsafe struct MagazineDepot
{
    public const int MaxMagazines = 4;

    public Magazine* Full;
    public Magazine* Empty;
    public int FullCount;
    public int EmptyCount;

    public Magazine* TakeFull()
    {
        Magazine* m = Full;
        if (m == null) return null;
        Full = m->Next;
        FullCount--;
        return m;
    }

    public Magazine* TakeEmpty()
    {
        Magazine* m = Empty;
        if (m == null) return null;
        Empty = m->Next;
        EmptyCount--;
        return m;
    }

    /// <summary>Keeps a full magazine if there is room (below <paramref name="limit"/>); false means the caller must flush it.</summary>
    public bool TryPutFull(Magazine* m, int limit = MaxMagazines)
    {
        if (FullCount >= limit) return false;
        m->Next = Full;
        Full = m;
        FullCount++;
        return true;
    }

    /// <summary>Keeps an empty magazine if there is room (below <paramref name="limit"/>); false means the caller destroys it.</summary>
    public bool TryPutEmpty(Magazine* m, int limit = MaxMagazines)
    {
        if (EmptyCount >= limit) return false;
        m->Next = Empty;
        Empty = m;
        EmptyCount++;
        return true;
    }
}
