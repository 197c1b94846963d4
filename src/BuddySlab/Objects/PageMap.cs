using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Os;

namespace BuddySlab.Objects;

/// <summary>
/// A hash map from page addresses to pointer-sized values: open addressing with linear probing over one managed array,
/// with backward-shift deletion so no tombstones build up.
/// <para><b>Invariants.</b> The array is kept at most half full. Address 0 is never a key (it marks an empty
/// slot).</para>
/// <para><b>Allocation.</b> Lookups and removals allocate nothing; an insertion allocates only when the table
/// grows.</para>
/// <para><b>Threading.</b> Not thread-safe.</para>
/// </summary>
internal sealed class PageMap
{
    private const int MinimumCapacity = 16;

    private readonly int _pageShift;
    private Entry[] _entries;
    private int _count;
    private int _hashShift;

    /// <summary>Creates an empty map for addresses of pages of <paramref name="pageSize"/> bytes (a power of
    /// two).</summary>
    public PageMap(nuint pageSize)
    {
        PageSizes.ThrowIfNotPowerOfTwo(pageSize, nameof(pageSize));
        _pageShift = BitOperations.TrailingZeroCount(pageSize);
        _entries = new Entry[MinimumCapacity];
        _hashShift = 64 - BitOperations.Log2(MinimumCapacity);
    }

    /// <summary>Number of keys in the map.</summary>
    public int Count => _count;

    /// <summary>The value stored for <paramref name="page"/>, or 0 when there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Get(nuint page)
    {
        Entry[] entries = _entries;
        int mask = entries.Length - 1;
        ref Entry first = ref MemoryMarshal.GetArrayDataReference(entries);
        for (int i = Home(page); ; i = (i + 1) & mask)
        {
            ref Entry e = ref Unsafe.Add(ref first, i);
            if (e.Key == page)
                return e.Value; // an empty slot holds value 0, so a lookup of page 0 answers 0 too
            if (e.Key == 0)
                return 0;
        }
    }

    /// <summary>True when <paramref name="page"/> is a key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(nuint page) => Get(page) != 0;

    /// <summary>Stores <paramref name="value"/> (not 0) for <paramref name="page"/> (not 0), replacing any earlier
    /// value; a 0 throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    public void Set(nuint page, nint value)
    {
        if (page == 0)
            throw new ArgumentOutOfRangeException(nameof(page), page, "Page address 0 cannot be stored.");
        if (value == 0)
            throw new ArgumentOutOfRangeException(nameof(value), value, "Value 0 means absent and cannot be stored.");
        if ((_count + 1) * 2 > _entries.Length)
            Grow();
        Insert(_entries, page, value, ref _count);
    }

    /// <summary>Removes <paramref name="page"/>; returns false when it was not a key.</summary>
    public bool Remove(nuint page)
    {
        if (page == 0)
            return false;
        Entry[] entries = _entries;
        int mask = entries.Length - 1;
        int hole = Home(page);
        while (entries[hole].Key != page)
        {
            if (entries[hole].Key == 0)
                return false;
            hole = (hole + 1) & mask;
        }

        // Close the hole: pull back every later entry of the probe run that may legally sit in it.
        for (int j = (hole + 1) & mask; entries[j].Key != 0; j = (j + 1) & mask)
        {
            int home = Home(entries[j].Key);
            bool homeAfterHole = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (homeAfterHole)
                continue;
            entries[hole] = entries[j];
            hole = j;
        }
        entries[hole] = default;
        _count--;
        return true;
    }

    /// <summary>Removes every key, keeping the current capacity.</summary>
    public void Clear()
    {
        Array.Clear(_entries);
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(nuint page) => (int)(((ulong)page >> _pageShift) * 0x9E3779B97F4A7C15UL >> _hashShift);

    private void Insert(Entry[] entries, nuint page, nint value, ref int count)
    {
        int mask = entries.Length - 1;
        int i = Home(page);
        while (entries[i].Key != 0 && entries[i].Key != page)
            i = (i + 1) & mask;
        if (entries[i].Key == 0)
            count++;
        entries[i] = new Entry(page, value);
    }

    private void Grow()
    {
        Entry[] old = _entries;
        _entries = new Entry[old.Length * 2];
        _hashShift--;
        int count = 0;
        foreach (Entry e in old)
        {
            if (e.Key != 0)
                Insert(_entries, e.Key, e.Value, ref count);
        }
        _count = count;
    }

    private readonly record struct Entry(nuint Key, nint Value);
}
