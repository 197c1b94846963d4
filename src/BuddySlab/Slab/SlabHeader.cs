using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// The header at the start of every slab, followed by two bitmaps of <see cref="BitmapWords"/> words each:
/// <list type="bullet">
/// <item>the <b>free bitmap</b> (bit set = object free), read and written only by the owner under its lock;</item>
/// <item>the <b>remote bitmap</b> (bit set = object freed by another CPU and not yet drained), set atomically by
/// remote freers and cleared by the owner when it drains. It lets a remote double free fail at once.</item>
/// </list>
/// A slab is aligned to its own size, so the header of any object is the object's address with the low bits
/// cleared. Remote frees push the object on <see cref="RemoteHead"/> (linked through <see cref="LinkOf"/>)
/// after counting it in <see cref="RemoteCount"/>; the freer that takes the count from 0 to 1 also puts the slab
/// on its owner's pending stack for the class, so the owner finds it in O(1).
/// <para><b>Free marks.</b> In slabs of 16-byte objects and up, every object that is not live (in the slab's free
/// bitmap, waiting on the remote list, or in a magazine) holds a free mark in its first word whose low 16 bits are those
/// of <c>address ^ cookie</c>: <c>address ^ cookie</c> itself in the slab or on a remote list, and in a magazine the
/// slot's own mark (see the magazine's comment). It is written for every object when the slab is formatted and by every
/// free, and cleared by every allocation. So a free that does not find the mark knows the object is live without
/// reading this header. Remote links therefore go in the second word;
/// 8-byte objects have only one, link there, and are always checked against the bitmaps.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SlabHeader
{
    public const uint MagicValue = 0x534C_4142; // "SLAB"

    public uint Magic;
    public byte ClassIndex;
    public SlabList List;
    public ushort OwnerCpu;
    public ushort ObjectCount;
    public ushort FreeCount;
    public ushort ObjectSize;
    public ushort FirstOffset;
    public ushort BitmapWords;
    public ushort FreeWordHint;     // no free bit in any word below this
    public int Shift;               // the object size's exact divisor (see ExactDivisor), with Inverse
    public SlabHeader* Prev;
    public SlabHeader* Next;
    public nint* OwnerPending;      // the owner's pending-slab stacks, one per class
    public SlabHeader* PendingNext;
    public nuint RemoteHead;
    public int RemoteCount;
    public uint SlabBytes;
    public ulong Inverse;

    /// <summary>Header plus both bitmaps, for <paramref name="words"/> words per bitmap.</summary>
    public static int BytesFor(int words) => sizeof(SlabHeader) + 2 * 8 * words;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* FreeBits(SlabHeader* s) => (ulong*)(s + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* RemoteBits(SlabHeader* s) => (ulong*)(s + 1) + s->BitmapWords;

    /// <summary>Writes a header for a fresh slab of class <paramref name="c"/> with every object free.</summary>
    public static SlabHeader* Format(nuint address, in SizeClass c, int slabBytes, int words, int ownerCpu, nint* ownerPending)
    {
        var s = (SlabHeader*)address;
        *s = default;
        s->Magic = MagicValue;
        s->ClassIndex = (byte)c.Index;
        s->OwnerCpu = (ushort)ownerCpu;
        s->ObjectCount = (ushort)c.ObjectsPerSlab;
        s->FreeCount = (ushort)c.ObjectsPerSlab;
        s->ObjectSize = (ushort)c.ObjectSize;
        s->FirstOffset = (ushort)c.FirstObjectOffset;
        s->BitmapWords = (ushort)words;
        (s->Inverse, s->Shift) = ExactDivisor.For((ulong)c.ObjectSize);
        s->OwnerPending = ownerPending;
        s->SlabBytes = (uint)slabBytes;
        ulong* free = FreeBits(s);
        ulong* remote = RemoteBits(s);
        for (int w = 0; w < words; w++)
        {
            int bitsInWord = Math.Clamp(c.ObjectsPerSlab - w * 64, 0, 64);
            free[w] = bitsInWord == 64 ? ulong.MaxValue : (1ul << bitsInWord) - 1;
            remote[w] = 0;
        }
        return s;
    }

    /// <summary>Writes the free mark into every object of a slab about to be formatted (done before the CPU lock is taken:
    /// it may fault pages in).</summary>
    public static void MarkAllFree(nuint address, in SizeClass c, nuint cookie)
    {
        nuint first = address + (nuint)c.FirstObjectOffset, size = (nuint)c.ObjectSize;
        for (nuint o = first, end = first + (nuint)c.ObjectsPerSlab * size; o < end; o += size) *(nuint*)o = o ^ cookie;
    }

    /// <summary>Where a free object of this slab keeps its remote-list link: the second word, or the first in a slab of
    /// 8-byte objects (the first holds the free mark otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref nuint LinkOf(SlabHeader* s, nuint address) => ref *(nuint*)(address + (s->ObjectSize >= 16 ? (nuint)8 : 0));

    /// <summary>The object index of <paramref name="address"/>, or -1 if it does not start an object of this slab.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(SlabHeader* s, nuint address)
    {
        ulong index = IndexAt(s, address - (nuint)s - s->FirstOffset);   // an address below the first object wraps high
        return index < s->ObjectCount ? (int)index : -1;
    }

    /// <summary>The index of an address already known to start one of this slab's objects (nothing is checked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int KnownIndexOf(SlabHeader* s, nuint address) => (int)IndexAt(s, address - (nuint)s - s->FirstOffset);

    /// <summary>The index of the object <paramref name="offset"/> bytes past the first, or a huge value when no object starts there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong IndexAt(SlabHeader* s, nuint offset) => ExactDivisor.Divide(offset, s->Inverse, s->Shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint AddressOf(SlabHeader* s, int index) => (nuint)s + s->FirstOffset + (nuint)(index * s->ObjectSize);

    /// <summary>Takes the lowest free object. The slab must have one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint TakeObject(SlabHeader* s)
    {
        ulong* bits = FreeBits(s);
        int w = s->FreeWordHint;
        while (bits[w] == 0) w++;
        ulong word = bits[w];
        bits[w] = word & (word - 1);
        s->FreeWordHint = (ushort)w;
        s->FreeCount--;
        return AddressOf(s, w * 64 + BitOperations.TrailingZeroCount(word));
    }

    /// <summary>Takes up to <paramref name="max"/> free objects, lowest first, into <paramref name="items"/>; answers how many
    /// (at least one when the slab has a free object). One bitmap word is read and written once however many it gives.</summary>
    public static int TakeObjects(SlabHeader* s, nuint* items, int max)
    {
        ulong* bits = FreeBits(s);
        int w = s->FreeWordHint, taken = 0, free = s->FreeCount;
        nuint first = (nuint)s + s->FirstOffset, size = s->ObjectSize;
        while (taken < max && taken < free)
        {
            ulong word = bits[w];
            if (word == 0) { w++; continue; }
            do
            {
                items[taken++] = first + (nuint)(w * 64 + BitOperations.TrailingZeroCount(word)) * size;
                word &= word - 1;
            } while (word != 0 && taken < max);
            bits[w] = word;
        }
        s->FreeWordHint = (ushort)w;
        s->FreeCount = (ushort)(free - taken);
        return taken;
    }

    /// <summary>True when object <paramref name="index"/> is free or waiting on the remote list: freeing it again is a double free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFreeOrPending(SlabHeader* s, int index)
    {
        ulong mask = 1ul << index;
        int w = index >> 6;
        return ((FreeBits(s)[w] | Volatile.Read(ref RemoteBits(s)[w])) & mask) != 0;
    }

    /// <summary>Marks object <paramref name="index"/> free in the owner's bitmap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PutObject(SlabHeader* s, int index)
    {
        int w = index >> 6;
        FreeBits(s)[w] |= 1ul << index;
        s->FreeCount++;
        if (w < s->FreeWordHint) s->FreeWordHint = (ushort)w;
    }
}

/// <summary>Which of its owner's lists a slab is on.</summary>
internal enum SlabList : byte
{
    None = 0,
    Partial = 1,
    Full = 2,
    Empty = 3,
}
