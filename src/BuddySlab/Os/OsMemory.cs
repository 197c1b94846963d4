using System.Runtime.InteropServices;

namespace BuddySlab.Os;

/// <summary>
/// Memory from the operating system, for the native heap's <see cref="OsRegionSource"/>.
/// <para>On Linux a region is an anonymous <c>mmap</c> with <c>MAP_NORESERVE</c>: address space only, backed page by
/// page when first touched, zero-filled, and given back page by page with <c>madvise(MADV_DONTNEED)</c>. Elsewhere a
/// region is a block from the runtime's native allocator (large blocks are mapped on demand there too) and nothing
/// is given back before the region is released.</para>
/// </summary>
internal static unsafe partial class OsMemory
{
    private const int ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private const int MadvDontNeed = 4, MadvHugePage = 14;

    /// <summary>True when regions are mappings that can be reserved large and discarded page by page.</summary>
    public static bool CanReserveAndDiscard => OperatingSystem.IsLinux();

    /// <summary>A region of <paramref name="bytes"/> aligned to <paramref name="alignment"/> (at most the OS page size
    /// for mappings), or null when the OS refuses. Mapped regions read as zero.</summary>
    public static void* Reserve(nuint bytes, nuint alignment)
    {
        if (CanReserveAndDiscard)
        {
            void* mapped = Mmap(null, bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
            return mapped == (void*)-1 ? null : mapped;
        }
        try { return NativeMemory.AlignedAlloc(bytes, alignment); }
        catch (OutOfMemoryException) { return null; }
    }

    public static void Release(void* region, nuint bytes)
    {
        if (CanReserveAndDiscard) Munmap(region, bytes);
        else NativeMemory.AlignedFree(region);
    }

    /// <summary>Gives the pages of <c>[address, address + bytes)</c> back to the OS; they read as zero when next touched.</summary>
    public static void Discard(nuint address, nuint bytes)
    {
        if (CanReserveAndDiscard) Madvise((void*)address, bytes, MadvDontNeed);
    }

    /// <summary>Asks for transparent huge pages on <c>[address, address + bytes)</c> of a reserved region; false where
    /// the OS has no such advice or refuses it (the memory then stays in ordinary pages).</summary>
    public static bool AdviseHugePages(nuint address, nuint bytes)
    {
        if (!CanReserveAndDiscard) return false;
        const nuint huge = 2 << 20;
        nuint start = (address + huge - 1) & ~(huge - 1), end = (address + bytes) & ~(huge - 1);
        return end > start && Madvise((void*)start, end - start, MadvHugePage) == 0;
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
