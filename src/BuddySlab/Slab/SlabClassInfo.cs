using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// What a free needs to know about a size class to check an object's position without reading its slab's header:
/// the mask from an object to its slab, where the first object starts, and the class's <see cref="ExactDivisor"/>,
/// which accepts exactly the offsets that start one of the slab's objects. One per class, 32 bytes, in an array the
/// free path indexes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SlabClassInfo
{
    public nuint SlabMask;          // ~(slab bytes - 1)
    public nuint FirstOffset;       // bytes from the slab's start to its first object
    public ulong Inverse;           // the object size's exact divisor (see ExactDivisor)
    public uint Count;              // objects per slab
    public int Shift;

    public static SlabClassInfo For(SizeClassTable table, int cls)
    {
        SizeClass c = table.Classes[cls];
        (ulong inverse, int shift) = ExactDivisor.For((ulong)c.ObjectSize);
        return new SlabClassInfo
        {
            SlabMask = ~(nuint)(table.SlabBytes[cls] - 1),
            FirstOffset = (nuint)c.FirstObjectOffset,
            Inverse = inverse,
            Count = (uint)c.ObjectsPerSlab,
            Shift = shift,
        };
    }

    /// <summary>The index of the object starting <paramref name="offset"/> bytes past the first one, or a value of at
    /// least <see cref="Count"/> when no object starts there.</summary>
    public readonly ulong IndexOf(nuint offset) => ExactDivisor.Divide(offset, Inverse, Shift);
}
