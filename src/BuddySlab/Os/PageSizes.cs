using System.Numerics;

namespace BuddySlab.Os;

/// <summary>
/// The page sizes each layer accepts, checked in one place. The buddy allocator works with any power of two from
/// 256 bytes to 1 GiB; the slab layer (and everything built on it) with powers of two from 1 KiB to 64 KiB, because a
/// slab's object offsets and counts are 16-bit and its bitmaps hold at most a few hundred objects per page.
/// </summary>
internal static class PageSizes
{
    public const int BuddyMin = 256, BuddyMax = 1 << 30;
    public const int SlabMin = 1024, SlabMax = 65536;

    /// <summary>Throws unless <paramref name="pageSize"/> is a page size the buddy allocator supports.</summary>
    public static void ThrowIfInvalidForBuddy(int pageSize, string parameter) => ThrowIfOutside(pageSize, BuddyMin, BuddyMax, "256 bytes to 1 GiB", parameter);

    /// <summary>Throws unless <paramref name="pageSize"/> is a page size the slab layer supports.</summary>
    public static void ThrowIfInvalidForSlabs(int pageSize, string parameter) => ThrowIfOutside(pageSize, SlabMin, SlabMax, "1 KiB to 64 KiB", parameter);

    /// <summary>Throws unless <paramref name="pageSize"/> is a power of two (any size).</summary>
    public static void ThrowIfNotPowerOfTwo(nuint pageSize, string parameter)
    {
        if (!AddressMath.IsPowerOfTwo(pageSize))
            throw new ArgumentOutOfRangeException(parameter, pageSize, $"Page size {pageSize} is not a power of two.");
    }

    private static void ThrowIfOutside(int pageSize, int min, int max, string range, string parameter)
    {
        if (pageSize < min || pageSize > max || !BitOperations.IsPow2(pageSize))
            throw new ArgumentOutOfRangeException(parameter, pageSize, $"The page size must be a power of two from {range}.");
    }
}
