using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Objects;

/// <summary>
/// The bookkeeping record of one slab, followed in memory by the slab's allocation bitmap (one bit per
/// object, set while the object is handed out). It lives at the end of the slab for
/// <see cref="ObjectSizeType.Small"/> caches and in memory from <see cref="ISlabMemoryBackend.AllocateSlabInfo"/>
/// for <see cref="ObjectSizeType.Large"/> ones. Only its owning <see cref="ObjectCache{T}"/> touches it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SlabInfo
{
    /// <summary>Index value meaning "no object" at the end of the free list.</summary>
    public const uint NoObject = uint.MaxValue;

    /// <summary>First byte of the slab; object <c>i</c> starts at <c>Base + i * stride</c>.</summary>
    public byte* Base;

    /// <summary>Neighbours in the occupancy bucket the slab sits in (null when not in a bucket).</summary>
    public SlabInfo* Previous;

    /// <summary>See <see cref="Previous"/>.</summary>
    public SlabInfo* Next;

    /// <summary>Neighbours in the list of every slab the cache holds, used to return them all on dispose.</summary>
    public SlabInfo* PreviousHeld;

    /// <summary>See <see cref="PreviousHeld"/>.</summary>
    public SlabInfo* NextHeld;

    /// <summary>Token of the owning cache; tells this cache's infos from those of other caches sharing a
    /// backend.</summary>
    public ulong Owner;

    /// <summary>Objects of this slab currently handed out.</summary>
    public uint Allocated;

    /// <summary>Index of the most recently freed object, whose first four bytes hold the next index; or
    /// <see cref="NoObject"/>.</summary>
    public uint FreeHead;

    /// <summary>Objects at this index and above have never been handed out since the slab was created.</summary>
    public uint NextUnused;

    private readonly uint _padding;

    private static long s_lastOwnerToken;

    /// <summary>
    /// A token no other cache in the process has: a fixed tag in the high bits (so that a zeroed or
    /// stray record never matches) and a process-wide counter in the low bits.
    /// </summary>
    public static ulong NewOwnerToken() => 0x534C_4142_0000_0000UL | (ulong)Interlocked.Increment(ref s_lastOwnerToken);

    /// <summary>Bytes of the fixed part, before the bitmap.</summary>
    public static nuint HeaderSize => (nuint)sizeof(SlabInfo);

    /// <summary>Bytes of a slab info, bitmap included, for a slab of <paramref name="objects"/> objects.</summary>
    public static nuint SizeFor(nuint objects) => HeaderSize + BitmapWords(objects) * sizeof(ulong);

    /// <summary>64-bit words of bitmap for <paramref name="objects"/> objects.</summary>
    public static nuint BitmapWords(nuint objects) => (objects + 63) / 64;

    /// <summary>The bitmap that follows the record of <paramref name="info"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* Bitmap(SlabInfo* info) => (ulong*)(info + 1);

    /// <summary>Writes a fresh record at <paramref name="info"/> for the empty slab at <paramref name="slab"/> of
    /// <paramref name="objects"/> objects, owned by the cache whose token is <paramref name="owner"/>, and clears its
    /// bitmap.</summary>
    public static void Initialize(SlabInfo* info, byte* slab, ulong owner, nuint objects)
    {
        *info = default;
        info->Base = slab;
        info->Owner = owner;
        info->FreeHead = NoObject;
        new Span<ulong>(Bitmap(info), checked((int)BitmapWords(objects))).Clear();
    }
}
