using System.Numerics;
using System.Runtime.InteropServices;

namespace BuddySlab.Os;

/// <summary>
/// How much of a range of the process's address space is resident in physical memory, from Linux's <c>mincore</c>
/// (one byte per OS page, its lowest bit set when the page is resident). The range's memory itself is never read, so a
/// range unmapped meanwhile costs an error code, not a fault: that part counts as not resident. The cost is a walk of
/// the range's page tables, in chunks of <see cref="ChunkPages"/> pages on the stack: nothing is allocated.
/// </summary>
internal static unsafe partial class ResidentPages
{
    private const int ChunkPages = 16384;
    private const ulong LowBits = 0x0101_0101_0101_0101;

    /// <summary>True where <see cref="Count"/> can tell (Linux); elsewhere it answers 0.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Bytes of the OS pages overlapping <c>[start, end)</c> that are resident now.</summary>
    public static nuint Count(nuint start, nuint end)
    {
        if (!IsSupported || end <= start) return 0;
        nuint page = (nuint)Environment.SystemPageSize;
        start &= ~(page - 1);
        end = end > nuint.MaxValue - page ? end & ~(page - 1) : (end + page - 1) & ~(page - 1);
        byte* vector = stackalloc byte[ChunkPages];
        nuint resident = 0;
        for (nuint at = start; at < end;)
        {
            int pages = (int)Math.Min((end - at) / page, (nuint)ChunkPages);
            if (Mincore((void*)at, (nuint)pages * page, vector) == 0) resident += CountResident(vector, pages) * page;
            at += (nuint)pages * page;
        }
        return resident;
    }

    /// <summary>The entries of <paramref name="vector"/> whose lowest bit is set (the other bits are reserved).</summary>
    private static nuint CountResident(byte* vector, int pages)
    {
        int count = 0, i = 0;
        for (; i + 8 <= pages; i += 8) count += BitOperations.PopCount(*(ulong*)(vector + i) & LowBits);
        for (; i < pages; i++) count += vector[i] & 1;
        return (nuint)count;
    }

    [LibraryImport("libc", EntryPoint = "mincore")]
    private static partial int Mincore(void* address, nuint length, byte* vector);
}
