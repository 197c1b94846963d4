using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Os;

namespace BuddySlab.Slab;

/// <summary>
/// The size classes laid out for one page size, plus the lookup from a request to its class.
/// <para>Sizes: 8, 16, then multiples of 16 up to 128, then eight classes per doubling (12.5% apart at most)
/// up to 8192: 57 classes, so a request wastes about 6% of its block on average. Every class above 8 is a multiple of
/// 16, so a default request (16-byte alignment from 16 bytes on) is always served by the class its size maps to; larger
/// alignments walk up to the first class whose objects are aligned enough (the powers of two up to 2048 are always in
/// the table, so an alignment up to 2048 always finds one; a larger one takes whole pages).</para>
/// <para>Alignment: the objects of a class up to 2048 bytes are aligned to the largest power of two dividing the size;
/// those of the larger classes to at most <see cref="LargeClassAlignment"/>, so the slab header costs a few hundred
/// bytes instead of a whole object of 4 or 8 KiB.</para>
/// <para>Slab pages per class: the fewest (a power of two, so slabs align to their size) for which the slab
/// header and the tail waste less than 1/16 of the slab below <see cref="CoarseSlabPages"/> pages and less than 1/8
/// from there on, with at least 8 objects.</para>
/// </summary>
internal sealed class SizeClassTable
{
    /// <summary>How many classes <see cref="Sizes"/> holds (a constant, so per-class slots can be inline arrays).</summary>
    public const int ClassCount = 57;

    public static readonly ushort[] Sizes =
    [
        8, 16, 32, 48, 64, 80, 96, 112, 128,
        144, 160, 176, 192, 208, 224, 240, 256,
        288, 320, 352, 384, 416, 448, 480, 512,
        576, 640, 704, 768, 832, 896, 960, 1024,
        1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048,
        2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096,
        4608, 5120, 5632, 6144, 6656, 7168, 7680, 8192,
    ];

    /// <summary>Class index by <c>(size + 7) / 8</c>, for sizes 0..<see cref="SizeClass.MaxObjectSize"/>: constant data in the assembly image, so a
    /// lookup is one load and a constant size folds to a constant class. A test checks it against <see cref="Sizes"/>.</summary>
    private static ReadOnlySpan<byte> ClassBySize =>
    [
        0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16,
        16, 17, 17, 17, 17, 18, 18, 18, 18, 19, 19, 19, 19, 20, 20, 20, 20, 21, 21, 21, 21, 22, 22, 22, 22, 23, 23, 23, 23, 24, 24, 24,
        24, 25, 25, 25, 25, 25, 25, 25, 25, 26, 26, 26, 26, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27, 28, 28, 28, 28, 28, 28, 28,
        28, 29, 29, 29, 29, 29, 29, 29, 29, 30, 30, 30, 30, 30, 30, 30, 30, 31, 31, 31, 31, 31, 31, 31, 31, 32, 32, 32, 32, 32, 32, 32,
        32, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
        34, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
        36, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
        38, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 39, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
        40, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41,
        41, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
        42, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43,
        43, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
        44, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45,
        45, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
        46, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47,
        47, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
        48, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49,
        49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49, 49,
        49, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
        50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
        50, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51,
        51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51,
        51, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
        52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
        52, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53,
        53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53, 53,
        53, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
        54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
        54, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55,
        55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55,
        55, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
        56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
        56,
    ];

    private static readonly Lock s_cacheLock = new();
    private static readonly Dictionary<int, SizeClassTable> s_cache = [];

    public readonly int PageSize;
    public readonly SizeClass[] Classes;
    /// <summary>Per class: slab bytes and bitmap words.</summary>
    public readonly int[] SlabBytes;
    public readonly int[] BitmapWords;

    private SizeClassTable(int pageSize)
    {
        PageSize = pageSize;
        int n = Sizes.Length;
        Classes = new SizeClass[n];
        SlabBytes = new int[n];
        BitmapWords = new int[n];
        for (int i = 0; i < n; i++)
        {
            int size = Sizes[i];
            int alignment = AlignmentOf(size);
            (int pages, int objects, int first, int words) = Plan(pageSize, size, alignment);
            Classes[i] = new SizeClass(i, size, alignment, pages, objects, first);
            SlabBytes[i] = pages * pageSize;
            BitmapWords[i] = words;
        }
    }

    public static SizeClassTable For(int pageSize)
    {
        lock (s_cacheLock)
        {
            if (!s_cache.TryGetValue(pageSize, out var table))
                s_cache[pageSize] = table = new SizeClassTable(pageSize);
            return table;
        }
    }

    /// <summary>The class of a default-aligned request of at most <see cref="SizeClass.MaxObjectSize"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DefaultClassOf(nuint size) =>
        Unsafe.Add(ref MemoryMarshal.GetReference(ClassBySize), (int)((size + 7) >> 3));

    /// <summary>The class for a request, or -1 when it takes whole pages: it is larger than
    /// <see cref="SizeClass.MaxObjectSize"/>, aligned past every class, or a whole number of pages above
    /// <see cref="MaxSmallObjectSize"/> bytes (<see cref="IsWholePages"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(nuint size, nuint alignment)
    {
        if (size > SizeClass.MaxObjectSize || alignment > MaxClassAlignment || IsWholePages(size)) return -1;
        int index = Unsafe.Add(ref MemoryMarshal.GetReference(ClassBySize), (int)((size + 7) >> 3));
        if (alignment <= 8 || (alignment <= 16 && index > 0)) return index;
        return FindAligned(index, alignment);
    }

    /// <summary>True for a size above <see cref="MaxSmallObjectSize"/> bytes that is a whole number of pages: such a
    /// request takes a page run, which wastes nothing, starts on a page boundary and goes through the threads' run
    /// stacks, though a class would fit it (4096 and 8192 bytes with 4 KiB pages).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsWholePages(nuint size) => size > MaxSmallObjectSize && (size & (nuint)(PageSize - 1)) == 0;

    /// <summary>The first class from <paramref name="index"/> on whose objects are aligned to
    /// <paramref name="alignment"/>, or -1 when none is (an alignment past <see cref="LargeClassAlignment"/> for a size
    /// above 2048 bytes).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int FindAligned(int index, nuint alignment)
    {
        SizeClass[] classes = Classes;
        while (index < classes.Length && (nuint)classes[index].Alignment < alignment) index++;
        return index < classes.Length ? index : -1;
    }

    /// <summary>The largest of the classes whose objects are aligned to their size (every power of two up to it is a
    /// class). Above it, whole numbers of pages take page runs (<see cref="IsWholePages"/>) and objects are aligned to
    /// <see cref="LargeClassAlignment"/>.</summary>
    public const int MaxSmallObjectSize = 2048;

    /// <summary>The largest alignment any class gives its objects: the 2048-byte class's.</summary>
    public const int MaxClassAlignment = MaxSmallObjectSize;

    /// <summary>The most a class above <see cref="MaxSmallObjectSize"/> bytes aligns its objects to. Their sizes are
    /// multiples of 256, so 256 costs nothing in the object layout, and the first object then starts 256 bytes into its
    /// slab (past the header) rather than a whole object in, as an 8 KiB alignment of the 8 KiB class would have it.</summary>
    public const int LargeClassAlignment = 256;

    /// <summary>The alignment of a class's objects: the largest power of two dividing its size, at most
    /// <see cref="LargeClassAlignment"/> above <see cref="MaxSmallObjectSize"/> bytes.</summary>
    private static int AlignmentOf(int size) => size > MaxSmallObjectSize ? Math.Min(size & -size, LargeClassAlignment) : size & -size;

    /// <summary>Below <see cref="CoarseSlabPages"/>, a slab's header and tail may waste less than 1/16 of it; from there on,
    /// less than 1/8 (docs/tuning.md says why not 1/8 throughout).</summary>
    private const int WasteDivisor = 16;

    /// <summary>The slab size (in pages) from which a slab's header and tail may waste up to 1/8 of it instead of 1/16:
    /// the 2048-byte class and the classes above it (8 to 32 pages with 4 KiB pages: at least 8 objects of 2 to 8 KiB
    /// leave a tail of up to one object, which 1/16 would only meet in slabs twice as large), and every class whose pages
    /// are small. A slab may take any power of two of pages up to 64: every page of a slab names its class in its record,
    /// so the unsized free finds its slab with one read, whatever its size.</summary>
    public const int CoarseSlabPages = 8;

    /// <summary>The most pages a slab takes (a class that reaches it keeps it, with fewer than 8 objects if need be: only
    /// with 1 KiB pages).</summary>
    public const int MaxSlabPages = 64;

    private static (int Pages, int Objects, int FirstOffset, int Words) Plan(int pageSize, int size, int alignment)
    {
        for (int pages = 1; ; pages *= 2)
        {
            int slab = pages * pageSize, words = 1, objects, first;
            while (true)
            {
                first = AddressMath.AlignUp(SlabHeader.BytesFor(words), alignment);
                objects = Math.Max(0, (slab - first) / size);
                int needed = Math.Max(1, (objects + 63) / 64);
                if (needed <= words) break;
                words = needed;
            }
            int waste = slab - objects * size;
            bool usable = objects >= 8 && objects <= ushort.MaxValue;
            bool enough = usable && (long)waste * (pages < CoarseSlabPages ? WasteDivisor : 8) < slab;
            if (enough || pages >= MaxSlabPages || objects > ushort.MaxValue) return (pages, Math.Min(objects, ushort.MaxValue), first, words);
        }
    }


    /// <summary>What <see cref="ClassBySize"/> must hold, computed from <see cref="Sizes"/> (for the test that checks it).</summary>
    internal static byte[] BuildSizeLookup()
    {
        var lookup = new byte[SizeClass.MaxObjectSize / 8 + 1];
        int index = 0;
        for (int slot = 0; slot < lookup.Length; slot++)
        {
            int size = slot * 8;
            while (Sizes[index] < size) index++;
            lookup[slot] = (byte)index;
        }
        return lookup;
    }

    /// <summary>The constant lookup table, for the test that checks it.</summary>
    internal static byte[] SizeLookup => ClassBySize.ToArray();
}
