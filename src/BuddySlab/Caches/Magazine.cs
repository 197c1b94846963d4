using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Caches;

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

    /// <summary>Objects per magazine for objects of <paramref name="objectSize"/> bytes: about 16 KiB of objects, 16 to 128
    /// of them (docs/tuning.md says how that was chosen).</summary>
    public static int CapacityFor(int objectSize) => Math.Clamp(16384 / objectSize, 16, 128);

    /// <summary>Bytes a magazine of <paramref name="capacity"/> objects takes: the header and the slots.</summary>
    public static int BytesFor(int capacity) => sizeof(Magazine) + capacity * sizeof(nuint);

    /// <summary>Pops the newest object and clears its "in a magazine" mark (see the slab layer's free marks); false
    /// when the magazine is empty.</summary>
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
        address = Items(m)[n];
        *(nuint*)address = 0;
        return true;
    }

    /// <summary>Pushes a freed object and writes its free mark, <c>address ^ cookie</c>; false (nothing done) when the
    /// magazine is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryPush(Magazine* m, nuint address, nuint cookie)
    {
        int n = m->Count;
        if (n == m->Capacity) return false;
        Items(m)[n] = address;
        m->Count = n + 1;
        *(nuint*)address = address ^ cookie;
        return true;
    }

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
