using System.Numerics;
using System.Runtime.CompilerServices;

using BuddySlab.Os;

namespace BuddySlab.Objects;

/// <summary>
/// The arithmetic of an <see cref="ObjectCache{T}"/>'s slab layout, kept apart from the cache so that it can be tested
/// on its own and reused by the parameterless constructor: object alignment and stride, objects per slab with the slab
/// info inside or outside the slab, the default slab size, and the slab-size rule the cache and its page backend share.
/// The multiply-and-shift division that turns an object offset into its index is <see cref="Slab.ExactDivisor"/>.
/// </summary>
internal static class ObjectCacheLayout
{
    /// <summary>Objects are aligned to at least this, so a free object can hold a link and every stride is a multiple
    /// of it.</summary>
    public const nuint MinimumAlignment = 8;

    /// <summary>Largest slab supported: object offsets must fit in 32 bits.</summary>
    public const ulong MaximumSlabSize = 1UL << 32;

    /// <summary>Page size the parameterless constructor uses.</summary>
    public const nuint DefaultPageSize = 4096;

    /// <summary>Objects a default-sized slab holds at least.</summary>
    public const nuint DefaultMinimumObjects = 8;

    /// <summary>The natural alignment of <typeparamref name="T"/> as the runtime lays it out in a struct.</summary>
    public static nuint NaturalAlignmentOf<T>() where T : unmanaged => AddressMath.NaturalAlignmentOf<T>();

    /// <summary>The alignment objects of <typeparamref name="T"/> get: the natural one, at least
    /// <see cref="MinimumAlignment"/>.</summary>
    public static nuint ObjectAlignmentOf<T>() where T : unmanaged =>
        Math.Max(NaturalAlignmentOf<T>(), MinimumAlignment);

    /// <summary>Bytes between consecutive objects of <typeparamref name="T"/>.</summary>
    public static unsafe nuint StrideOf<T>() where T : unmanaged =>
        Stride((nuint)sizeof(T), ObjectAlignmentOf<T>());

    /// <summary><paramref name="size"/>, at least 8, rounded up to <paramref name="alignment"/> (a power of
    /// two).</summary>
    public static nuint Stride(nuint size, nuint alignment)
    {
        nuint bytes = Math.Max(size, MinimumAlignment);
        return (bytes + alignment - 1) & ~(alignment - 1);
    }

    /// <summary>How many objects of <paramref name="stride"/> bytes fit in a slab of <paramref name="slabSize"/> bytes,
    /// by <paramref name="sizeType"/>. <see cref="ObjectSizeType.Large"/>: the whole slab.
    /// <see cref="ObjectSizeType.Small"/>: the largest count whose objects, from the slab start, end at or before the
    /// slab info (with its bitmap for that count) placed at the end of the slab. Zero when not even one fits.</summary>
    public static nuint ObjectsPerSlab(nuint slabSize, nuint stride, ObjectSizeType sizeType)
    {
        if (sizeType == ObjectSizeType.Large)
            return slabSize / stride;
        if (slabSize < SlabInfo.SizeFor(1) + stride)
            return 0;

        // Each object costs its stride plus one bitmap bit: start from that estimate and correct it.
        ulong room = (ulong)(slabSize - SlabInfo.HeaderSize);
        nuint count = (nuint)(room * 64 / ((ulong)stride * 64 + 1));
        while (count > 0 && !FitsSmall(slabSize, stride, count))
            count--;
        while (FitsSmall(slabSize, stride, count + 1))
            count++;
        return count;
    }

    /// <summary>Offset of the slab info inside a <see cref="ObjectSizeType.Small"/> slab of <paramref name="slabSize"/>
    /// bytes holding <paramref name="objectsPerSlab"/> objects: right at the end.</summary>
    public static nuint SmallInfoOffset(nuint slabSize, nuint objectsPerSlab) =>
        slabSize - SlabInfo.SizeFor(objectsPerSlab);

    /// <summary>The slab size the parameterless constructor uses for objects of <paramref name="stride"/> bytes: the
    /// smallest power-of-two multiple of <see cref="DefaultPageSize"/> whose <see cref="ObjectSizeType.Small"/> layout
    /// holds at least <see cref="DefaultMinimumObjects"/> objects. Power-of-two page counts are what a buddy page
    /// allocator hands out without waste. Throws <see cref="ArgumentOutOfRangeException"/> when no slab of at most
    /// <see cref="MaximumSlabSize"/> bytes holds that many.</summary>
    public static nuint DefaultSlabSize(nuint stride)
    {
        ulong slab = DefaultPageSize;
        while (ObjectsPerSlab((nuint)slab, stride, ObjectSizeType.Small) < DefaultMinimumObjects)
        {
            slab *= 2;
            if (slab > MaximumSlabSize)
                throw new ArgumentOutOfRangeException(nameof(stride), stride,
                    $"Objects of {stride} bytes are too large for a slab of at most {MaximumSlabSize} bytes holding " +
                    $"{DefaultMinimumObjects} of them.");
        }
        return (nuint)slab;
    }

    /// <summary>The default slab size for <typeparamref name="T"/>; see <see cref="DefaultSlabSize(nuint)"/>.</summary>
    public static nuint DefaultSlabSizeOf<T>() where T : unmanaged => DefaultSlabSize(StrideOf<T>());

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (for <c>slabSize</c>) unless
    /// <paramref name="slabSize"/> is a positive multiple of <paramref name="pageSize"/>.</summary>
    public static void ThrowIfNotPageMultiple(nuint slabSize, nuint pageSize)
    {
        if (slabSize == 0 || slabSize % pageSize != 0)
            throw new ArgumentOutOfRangeException(nameof(slabSize), slabSize,
                $"Slab size {slabSize} is not a positive multiple of the page size {pageSize}.");
    }

    private static bool FitsSmall(nuint slabSize, nuint stride, nuint count) =>
        (ulong)count * stride + SlabInfo.SizeFor(count) <= slabSize;
}
