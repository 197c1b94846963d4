using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// The <c>pages</c> workload's floor: one stack of free runs per length (1 to 16 pages) over a bump pointer through
/// one large reservation, with no checks, no lock and no thread lookup. A freed run is the next one handed out for
/// its length, so a new run's first and last pages are as likely to be cached as any allocator can make them.
/// What is left of a step is the workload's own work: picking a random live run, checking and freeing it, stamping
/// the new one. No page allocator can do less; its figure bounds what any of them can reach on this machine.
/// Single-threaded, as the workload is; its state lives across repetitions like the live set it serves.
/// </summary>
public readonly unsafe struct FloorPages : IPageAllocator
{
    private const int MaxPages = 16;
    private const nuint ReservedBytes = (nuint)1 << 31;    // address space; a page costs something only once touched
    private const int StackCapacity = 1 << 15;             // free runs per length; the live set holds 10,000 runs in all

    private static byte* s_base;
    private static nuint s_used;
    private static nint* s_stacks;                         // MaxPages stacks of StackCapacity runs
    private static int* s_counts;

    public FloorPages()
    {
        if (s_base != null) return;
        s_base = (byte*)NativeMemory.AlignedAlloc(ReservedBytes, (nuint)IPageAllocator.PageSize);
        s_stacks = (nint*)NativeMemory.Alloc((nuint)(MaxPages * StackCapacity), (nuint)sizeof(nint));
        s_counts = (int*)NativeMemory.AllocZeroed(MaxPages, sizeof(int));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* AllocatePages(nuint pages)
    {
        int length = (int)pages - 1;
        int n = s_counts[length] - 1;
        if (n >= 0)
        {
            s_counts[length] = n;
            return (byte*)s_stacks[length * StackCapacity + n];
        }
        return Bump(pages);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(byte* address, nuint pages)
    {
        int length = (int)pages - 1;
        int n = s_counts[length];
        if (n == StackCapacity) ThrowFull();
        s_stacks[length * StackCapacity + n] = (nint)address;
        s_counts[length] = n + 1;
    }

    /// <summary>Nothing to do: the runs outlive the repetition, as the live set does.</summary>
    public void Dispose() { }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* Bump(nuint pages)
    {
        nuint bytes = pages * IPageAllocator.PageSize;
        if (pages - 1 >= MaxPages || s_used + bytes > ReservedBytes) ThrowFull();
        byte* run = s_base + s_used;
        s_used += bytes;
        return run;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowFull() =>
        throw new InvalidOperationException($"The page floor serves runs of 1 to {MaxPages} pages, at most {StackCapacity:N0} free per length, from {ReservedBytes >> 30} GiB.");
}
