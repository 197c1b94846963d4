using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// What a free needs to know about a size class to check an object's position without reading its slab's header:
/// the mask from an object to its slab, where the first object starts, how far the objects reach, and the
/// reciprocal that turns an offset into an index. One per class, in an array the free path indexes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SlabClassInfo
{
    public nuint SlabMask;          // ~(slab bytes - 1)
    public nuint FirstOffset;       // bytes from the slab's start to its first object
    public nuint Span;              // objects per slab times object size: offsets at or past it are outside
    public uint ObjectSize;
    public uint Reciprocal;         // ceil(2^32 / ObjectSize), exact for every offset below Span

    public static SlabClassInfo For(SizeClassTable table, int cls)
    {
        SizeClass c = table.Classes[cls];
        return new SlabClassInfo
        {
            SlabMask = ~(nuint)(table.SlabBytes[cls] - 1),
            FirstOffset = (nuint)c.FirstObjectOffset,
            Span = (nuint)c.ObjectsPerSlab * (nuint)c.ObjectSize,
            ObjectSize = (uint)c.ObjectSize,
            Reciprocal = table.Reciprocals[cls],
        };
    }
}
