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
/// <item>a <b>run tail</b> (<see cref="RunTail"/>), only inside a spanning run: <see cref="Next"/> is its head.</item>
/// </list>
/// A page inside a run or inside a free block is found through its head (see <see cref="BuddySection"/>).
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

    public readonly bool IsFreeHead => Kind == FreeHead;
    public readonly bool IsRunHead => Kind == RunHead;
    public readonly bool IsRunTail => Kind == RunTail;
    public readonly uint RunLength => Next;
}
