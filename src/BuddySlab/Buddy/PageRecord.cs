using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Buddy;

/// <summary>
/// The 12-byte record kept for every managed page in its section's metadata prefix.
/// Only two kinds of record carry meaning; every other record is ignored and left as it is:
/// <list type="bullet">
/// <item>a <b>free-block head</b> (<see cref="FreeHead"/>): <see cref="Order"/> is the block's order and
/// <see cref="Prev"/>/<see cref="Next"/> link it into its order's free list by page index; <see cref="FreeAge"/>
/// counts the purge passes that have seen it free (0 when it was put on its list);</item>
/// <item>a <b>run head</b> (<see cref="RunHead"/>): the first page of a live allocation; <see cref="Flags"/>
/// is its state and <see cref="Next"/> its exact length in pages; for a slab, <see cref="SlabClass"/> is its size
/// class (set before the run is marked a slab), so a free needs no read of the slab's own header;</item>
/// <item>a <b>run tail</b> (<see cref="RunTail"/>), only inside a spanning run: <see cref="Next"/> is its head;</item>
/// <item>a <b>slab page</b> (<see cref="SlabPage"/>), written by the slab layer on every page of a live slab after its
/// head (<see cref="MarkSlab"/>) and cleared before the slab's run becomes anything else (<see cref="ClearSlabBody"/>):
/// <see cref="Flags"/> is <see cref="PageFlags.Slab"/>, <see cref="SlabClass"/> the slab's class and <see cref="Order"/>
/// the page's distance from the head. So the record of any page of a live slab, head or not, names the slab's class
/// (<see cref="IsSlabPage"/>), and a free finds the slab with one record read and the class's mask.</item>
/// </list>
/// A page inside a run or inside a free block is found through its head (see <see cref="BuddySection"/>). The buddy
/// writes only heads and tails and ignores slab pages: a live slab is never spanning (its pages are a power of two and
/// aligned to their count), so no tail falls inside one, and no free block does.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 12)]
internal struct PageRecord
{
    /// <summary>Marks a record that heads a block on a free list.</summary>
    public const byte FreeHead = 1;
    /// <summary>Marks a record that heads a live allocation.</summary>
    public const byte RunHead = 2;
    /// <summary>Marks a record inside a spanning run (one longer than the block its head is aligned to) at each multiple of
    /// that block's size: <see cref="Next"/> is the run's head, so a page past the first block still finds it.</summary>
    public const byte RunTail = 3;
    /// <summary>Marks a record inside a live slab, past its head. Its bit pattern differs from <see cref="RunHead"/>'s
    /// only in bit 2, so <see cref="IsSlabPage"/> accepts both in one compare and no other kind.</summary>
    public const byte SlabPage = 6;
    /// <summary>The "no page" link.</summary>
    public const uint None = uint.MaxValue;

    public PageFlags Flags;
    public byte Order;
    public byte Kind;
    public byte SlabClass;          // a slab's run head: its size class; a free-block head: its FreeAge

    /// <summary>On a free-block head: 0 when put on its list, 1 once a purge pass has seen it free, 2 once a later pass
    /// gave its pages back to the OS.</summary>
    public byte FreeAge { readonly get => SlabClass; set => SlabClass = value; }
    public uint Prev;
    public uint Next;

    /// <summary>True when this record heads a live slab of size class <paramref name="cls"/>: kind, flags and class
    /// compared in one 32-bit load (the order byte between them is masked out).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool IsSlabHeadOf(int cls) =>
        (Unsafe.As<PageFlags, uint>(ref Unsafe.AsRef(in Flags)) & 0xFFFF_00FFu) == ((uint)PageFlags.Slab | (uint)RunHead << 16 | (uint)cls << 24);

    /// <summary>True when this record is a page of a live slab, its head or a <see cref="SlabPage"/>: flags
    /// <see cref="PageFlags.Slab"/> and either kind in one 32-bit load; <see cref="SlabClass"/> is then the slab's
    /// class. A record of any other state (free, a free block's interior, a page or metadata or cached run, a tail) fails:
    /// only a slab head or a slab page carries <see cref="PageFlags.Slab"/> together with those kinds.</summary>
    public readonly bool IsSlabPage
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => IsSlabPageWord(Word);
    }

    /// <summary><see cref="IsSlabPage"/> on a record's <see cref="Word"/> already loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSlabPageWord(uint word) => (word & 0x00FB_00FFu) == ((uint)PageFlags.Slab | (uint)RunHead << 16);

    /// <summary>Flags, order, kind and class as one little-endian word (flags in the low byte).</summary>
    public readonly uint Word
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Unsafe.As<PageFlags, uint>(ref Unsafe.AsRef(in Flags));
    }

    /// <summary>Makes the live run headed by <paramref name="head"/>, of <paramref name="pages"/> pages, a slab of class
    /// <paramref name="cls"/>: each later page's record becomes a <see cref="SlabPage"/>, then the head takes the class
    /// and, last, the slab flag, so a free that finds any of them marked may rely on the class.</summary>
    public static unsafe void MarkSlab(PageRecord* head, nuint pages, int cls)
    {
        for (nuint i = 1; i < pages; i++)
            Unsafe.As<PageFlags, uint>(ref head[i].Flags) = (uint)PageFlags.Slab | (uint)i << 8 | (uint)SlabPage << 16 | (uint)cls << 24;
        head->SlabClass = (byte)cls;
        Volatile.Write(ref Unsafe.As<PageFlags, byte>(ref head->Flags), (byte)PageFlags.Slab);
    }

    /// <summary>Blanks the <see cref="SlabPage"/> records of the slab headed by <paramref name="head"/>, of
    /// <paramref name="pages"/> pages, before its run leaves the slab layer (to a run cache or the buddy), so none of its
    /// pages still reads as a slab once the run is reused. The head is the caller's to restate.</summary>
    public static unsafe void ClearSlabBody(PageRecord* head, nuint pages)
    {
        for (nuint i = 1; i < pages; i++) Unsafe.As<PageFlags, uint>(ref head[i].Flags) = 0;
    }

    public readonly bool IsFreeHead => Kind == FreeHead;
    public readonly bool IsRunHead => Kind == RunHead;
    public readonly bool IsRunTail => Kind == RunTail;
    public readonly uint RunLength => Next;
}
