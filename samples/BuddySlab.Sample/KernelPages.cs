using System.Runtime.InteropServices;

namespace BuddySlab.Sample;

/// <summary>
/// The page allocator as a kernel-like host drives it: a <see cref="GlobalAllocator"/> over a region the host
/// owns (here one block from the OS, as a kernel would hand over the RAM the firmware reported), whole pages
/// allocated and freed, pages for a 32-bit device, small objects from the CPU's slab cache, and the region
/// whole again at the end. The allocator keeps its metadata inside the region, and the host frees the region.
/// </summary>
internal static unsafe class KernelPages
{
    private const int PageSize = 4096;
    private const nuint RegionBytes = 8 << 20;

    public static void Run(Checks checks)
    {
        Console.WriteLine("GlobalAllocator over a region of the host's");
        void* region = NativeMemory.AlignedAlloc(RegionBytes, PageSize);
        try
        {
            var platform = new BootPlatform((nuint)region);
            var pages = new GlobalAllocator(PageSize) { ThreadCaches = false };   // a kernel schedules its own CPUs
            pages.Init(region, RegionBytes, platform);
            nuint freeAtStart = pages.GetSection(0).FreePageCount;
            checks.Equal("sections", 1, pages.SectionCount);

            nuint run = pages.AllocatePages(16, 16 * PageSize);
            checks.Equal("16 pages: aligned to their 64 KiB", 0ul, (ulong)run % (16 * PageSize));
            new Span<byte>((void*)run, 16 * PageSize).Fill(0xA5);
            checks.Equal("free pages while 16 are out", freeAtStart - 16, pages.GetSection(0).FreePageCount);

            nuint dma = pages.AllocatePagesLowMem(4, PageSize);
            checks.True("4 pages for a 32-bit device: end below 4 GiB",
                platform.VirtualToPhysical(dma + 4 * PageSize - 1) < 1ul << 32);

            void* obj = pages.Allocate(48);
            checks.Equal("48-byte object: usable size", (nuint)48, pages.UsableSize(obj));
            pages.Free(obj);

            checks.Refused("freeing 15 of the 16 pages", AllocError.NotAllocated, () => pages.FreePages(run, 15));
            pages.FreePages(run, 16);
            pages.FreePages(dma, 4);
            pages.Trim();
            checks.Equal("allocated bytes after freeing and Trim()", (nuint)0, pages.AllocatedBytes);
            checks.Equal("free pages after freeing and Trim()", freeAtStart, pages.GetSection(0).FreePageCount);
        }
        finally
        {
            NativeMemory.AlignedFree(region);
        }
    }
}
