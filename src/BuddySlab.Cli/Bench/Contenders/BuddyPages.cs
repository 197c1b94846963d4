using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// BuddySlab's <see cref="BuddyAllocator"/> over one region from <see cref="NativeMemory.AlignedAlloc"/>, big
/// enough for the <c>pages</c> workload's worst case twice over (10,000 blocks of 16 pages) plus its metadata.
/// <para>
/// The region and allocator are created once per process and kept, as a program using the allocator would keep
/// them (and as glibc, mimalloc and jemalloc keep their heaps between repetitions): a fresh region per repetition
/// would make every repetition pay first-touch page faults for pages the other contenders already have resident.
/// </para>
/// <para>
/// The allocator's free lists are LIFO by order, not by address, so under churn its blocks wander over the whole
/// region and it touches every page within about a million steps. Until then, first-touch page faults (costly on
/// a virtual machine) swamp the allocator's own cost, and a repetition's time would depend on how many steps came
/// before it. The <c>pages</c> workload measures the steady state, so by default the region is made resident once
/// when it is created (<see cref="Prefault"/>, untimed). The <c>--memory</c> children turn that off, so that their
/// peak shows what one run really touches.
/// </para>
/// </summary>
public readonly unsafe struct BuddyPages : IPageAllocator
{
    /// <summary>Bytes of the region: 10,000 × 16 pages × 2, plus 16 MiB for the page records and slack.</summary>
    public const nuint RegionBytes = 10_000 * 16 * 2 * (nuint)IPageAllocator.PageSize + (16 << 20);

    private static BuddyAllocator? s_shared;

    /// <summary>Make the region resident when it is created (see the class remarks).</summary>
    public static bool Prefault { get; set; } = true;
    private readonly BuddyAllocator _buddy;

    public BuddyPages() => _buddy = s_shared ??= Create();

    private static BuddyAllocator Create()
    {
        void* region = NativeMemory.AlignedAlloc(RegionBytes, IPageAllocator.PageSize);
        if (Prefault) MakeResident((byte*)region, RegionBytes);
        var buddy = new BuddyAllocator(IPageAllocator.PageSize);
        buddy.Init(region, RegionBytes);
        return buddy;
    }

    /// <summary>madvise(MADV_POPULATE_WRITE) (Linux 5.14+) faults the range in inside the kernel; elsewhere, touch every page.</summary>
    private static void MakeResident(byte* region, nuint bytes)
    {
        const int MadvPopulateWrite = 23;
        if (OperatingSystem.IsLinux() && Madvise(region, bytes, MadvPopulateWrite) == 0) return;
        for (nuint offset = 0; offset < bytes; offset += IPageAllocator.PageSize) region[offset] = 0;
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(void* address, nuint length, int advice);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* AllocatePages(nuint pages) => (byte*)_buddy.AllocatePages(pages, IPageAllocator.PageSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(byte* address, nuint pages) => _buddy.FreePages((nuint)address, pages);

    /// <summary>Nothing to do: the allocator and the workload's live set outlive the repetition.</summary>
    public void Dispose() { }
}
