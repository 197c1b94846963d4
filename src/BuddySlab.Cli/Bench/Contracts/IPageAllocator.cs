namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// A page allocator for the <c>pages</c> workload: runs of 4 KiB pages, 4096-byte aligned. Structs only, for the
/// same reason as <see cref="IBenchAllocator{THandle}"/>. Created once per repetition and disposed after.
/// </summary>
public unsafe interface IPageAllocator : IDisposable
{
    /// <summary>The page size every page contender uses.</summary>
    const int PageSize = 4096;

    /// <summary>Allocates <paramref name="pages"/> contiguous 4 KiB pages aligned to 4096 bytes.</summary>
    byte* AllocatePages(nuint pages);

    /// <summary>Frees a run from <see cref="AllocatePages"/>, with its page count.</summary>
    void FreePages(byte* address, nuint pages);
}
