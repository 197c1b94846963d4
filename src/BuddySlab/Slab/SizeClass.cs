using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// One slab size class: objects of <see cref="ObjectSize"/> bytes carved from slabs of <see cref="SlabPages"/>
/// pages. Classes run from 8 to 8192 bytes, at most 12.5% apart above 128 bytes, and each class's slab size is
/// chosen so that the header and the unusable tail waste less than 1/16 of the slab (1/8 in slabs of 8 pages or more).
/// </summary>
/// <param name="Index">Position in the class table, from 0 (8 bytes).</param>
/// <param name="ObjectSize">Bytes per object.</param>
/// <param name="Alignment">Every object of the class is aligned to this: the largest power of two dividing the size, and
/// at most 256 for the classes above 2048 bytes.</param>
/// <param name="SlabPages">Pages per slab; a slab is aligned to its own size.</param>
/// <param name="ObjectsPerSlab">Objects per slab.</param>
/// <param name="FirstObjectOffset">Offset of the first object from the slab start, past the slab header.</param>
public readonly record struct SizeClass(int Index, int ObjectSize, int Alignment, int SlabPages, int ObjectsPerSlab, int FirstObjectOffset)
{
    /// <summary>The largest object a slab serves; larger requests take whole pages, and so do requests above 2048 bytes
    /// that are a whole number of pages or aligned to more than 256.</summary>
    public const int MaxObjectSize = 8192;

    /// <summary>Number of classes.</summary>
    public static int Count => SizeClassTable.Sizes.Length;

    /// <summary>The classes for pages of <paramref name="pageSize"/> bytes.</summary>
    public static ReadOnlySpan<SizeClass> All(int pageSize = 4096) => SizeClassTable.For(pageSize).Classes;

    /// <summary>The class serving <paramref name="size"/> bytes aligned to <paramref name="alignment"/>, or
    /// <see langword="false"/> when the request needs whole pages.</summary>
    public static bool TryFind(nuint size, nuint alignment, out SizeClass sizeClass, int pageSize = 4096)
    {
        var table = SizeClassTable.For(pageSize);
        int index = table.Find(size, alignment);
        sizeClass = index < 0 ? default : table.Classes[index];
        return index >= 0;
    }

    /// <summary>Bytes per slab.</summary>
    public int SlabBytes(int pageSize) => SlabPages * pageSize;
}
