namespace BuddySlab;

/// <summary>
/// A snapshot of what a heap holds (<see cref="GlobalAllocator.GetStatistics"/>, <see cref="NativeHeap.GetStatistics"/>):
/// its pages, what each kind of cache keeps inside them, the slabs of every size class, the free blocks of every section
/// by order (the fragmentation picture), and what the heap did since it began: bytes given back to the operating
/// system, trims, growths, failed allocations and purge passes. Immutable.
/// <para><b>Exact after <c>Trim()</c></b> with no other thread calling the heap: the caches then hold nothing,
/// <see cref="AllocatedBytes"/> is the live page runs plus the slabs (whose <see cref="SizeClassStatistics.ObjectsInUse"/>
/// are the live objects), and the sections' free blocks are the buddy's free lists.</para>
/// <para><b>Approximate while other threads run.</b> The parts are read one after another, each under the lock of what
/// it reads: each thread's cache under its exchange lock, the shared depot shelf by shelf, each CPU's depot, page-run
/// cache and slabs under that CPU's lock, and the sections and page counts under the buddy lock. Each part is a
/// consistent picture of its own moment, but the moments differ, so sums across parts may disagree by what moved
/// between two reads (a magazine handed from a thread to a depot, a slab taken from the buddy). The counts in a thread's
/// own magazines and run stacks change on its fast paths, which take no lock, so they may be off by what that thread
/// pushed or popped meanwhile. Remote frees are counted when announced, a moment before their objects are on their
/// slab's list.</para>
/// <para>Taking one costs a walk over every slab (each CPU's under its lock) and every free block (under the buddy
/// lock), and a <c>mincore</c> call over the memory in use for <see cref="ResidentBytes"/>: meant for diagnostics, not
/// for a tight loop. <see cref="GlobalAllocator.CachedBytes"/> and the other properties are the cheap reads.</para>
/// </summary>
public sealed class HeapStatistics
{
    internal HeapStatistics(int pageSize, nuint managedBytes, nuint allocatedBytes, nuint residentBytes,
        HeapCacheStatistics caches, SizeClassStatistics[] sizeClasses, SectionStatistics[] sections,
        ulong releasedBytes, long trims, long growths, long failedAllocations, long purgePasses, nuint metadataBytes)
    {
        MetadataBytes = metadataBytes;
        PageSize = pageSize;
        ManagedBytes = managedBytes;
        AllocatedBytes = allocatedBytes;
        ResidentBytes = residentBytes;
        Caches = caches;
        SizeClasses = Array.AsReadOnly(sizeClasses);
        Sections = Array.AsReadOnly(sections);
        ReleasedBytes = releasedBytes;
        Trims = trims;
        Growths = growths;
        FailedAllocations = failedAllocations;
        PurgePasses = purgePasses;
    }

    /// <summary>The page size in bytes.</summary>
    public int PageSize { get; }

    /// <summary>Bytes of managed pages, in every section (metadata not included).</summary>
    public nuint ManagedBytes { get; }

    /// <summary>Bytes of pages in use: live page runs, slabs, and the page runs caches hold.</summary>
    public nuint AllocatedBytes { get; }

    /// <summary>Bytes of pages the heap keeps for its own structures (threads' magazines and run stacks): managed pages,
    /// neither free nor in <see cref="AllocatedBytes"/>. Each section's free pages are its pages less what is allocated
    /// and this.</summary>
    public nuint MetadataBytes { get; }

    /// <summary>Bytes the caches hold inside <see cref="AllocatedBytes"/>: <c>Caches.TotalBytes</c>. Unlike
    /// <see cref="GlobalAllocator.CachedBytes"/>, this counts remote frees not yet drained, which only a walk over the
    /// slabs can see.</summary>
    public nuint CachedBytes => Caches.TotalBytes;

    /// <summary>Bytes of the heap's memory (its regions' metadata in use and its managed pages) that are resident in
    /// physical memory, as <c>mincore</c> reports them on Linux; 0 where the system cannot tell.</summary>
    public nuint ResidentBytes { get; }

    /// <summary>What each kind of cache holds.</summary>
    public HeapCacheStatistics Caches { get; }

    /// <summary>Every size class, in class order (element <c>i</c> is class <c>i</c>), classes without slabs included.</summary>
    public IReadOnlyList<SizeClassStatistics> SizeClasses { get; }

    /// <summary>Every managed section, in the order their regions were added.</summary>
    public IReadOnlyList<SectionStatistics> Sections { get; }

    /// <summary>Bytes given back to the operating system since the heap began: free blocks released with
    /// <c>madvise(MADV_DONTNEED)</c> (on Linux; elsewhere free pages stay with the process) and added regions unmapped,
    /// each counted once per time it went back (a region's pages released earlier are not counted again when it is
    /// unmapped). 0 for an allocator over caller regions with nowhere to give memory back to.</summary>
    public ulong ReleasedBytes { get; }

    /// <summary>Trims so far: calls of <c>Trim()</c>, and purge passes over a heap no live thread used for a whole interval,
    /// which do all that a trim does.</summary>
    public long Trims { get; }

    /// <summary>Times the heap grew so far: more of its reservation taken into use, or a new region mapped (regions a
    /// caller adds with <c>AddRegion</c> are not counted).</summary>
    public long Growths { get; }

    /// <summary>Requests answered "no memory" so far: an exception from an allocating call, or <see langword="false"/>
    /// from a <c>Try</c> form.</summary>
    public long FailedAllocations { get; }

    /// <summary>Purge passes run so far (the native heap's background clock runs one per purge interval).</summary>
    public long PurgePasses { get; }
}
