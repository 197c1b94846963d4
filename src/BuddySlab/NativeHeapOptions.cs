namespace BuddySlab;

/// <summary>How a <see cref="NativeHeap"/> takes memory from the operating system.</summary>
public sealed class NativeHeapOptions
{
    /// <summary>Bytes of the first region; 0 means 64 MiB. Later regions double in size.</summary>
    public nuint InitialBytes { get; init; }

    /// <summary>The most bytes of regions the heap may hold; 0 means no limit.</summary>
    public nuint MaxBytes { get; init; }

    /// <summary>The page size; 0 means 4096.</summary>
    public int PageSize { get; init; }

    /// <summary>Whether the heap asks Linux to back the memory it grows into beyond its first <see cref="InitialBytes"/>
    /// with transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>; the default, true). A large heap then takes one page
    /// fault and one TLB entry per 2 MiB instead of per 4 KiB; a heap that never grows keeps 4 KiB granularity. The
    /// cost: a touched huge page is resident whole, so a grown heap may hold somewhat more memory than with 4 KiB
    /// pages. Ignored where the system does not offer it.</summary>
    public bool HugePages { get; init; } = true;

    /// <summary>How often the heap gives back to the OS what has stayed free for a whole interval: on Linux free runs of
    /// 16 pages or more (so a run goes back between one and two intervals after it was freed), everywhere added regions
    /// that hold nothing. The same passes return to the slabs and the buddy what the shared magazine depot and the
    /// per-CPU page caches held unused all interval (which lets those caches be larger while passes run), and each
    /// thread's own slow paths do the same for its page-run stacks. Default one second; <see cref="TimeSpan.Zero"/>
    /// leaves all of it to <see cref="NativeHeap.Trim"/>.
    /// The passes run on one background thread shared by every heap of the process, so an idle heap gives its memory back
    /// with no call: a pass that finds no live thread used the heap for a whole interval trims it as <c>Trim()</c> does. A
    /// heap stops its passes when it is disposed.</summary>
    public TimeSpan PurgeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>What the caches every thread shares (the CPUs' and the shared magazine depots, the CPUs' page-run caches)
    /// may hold per CPU whatever is live, on top of a quarter of the live bytes. Default 2 MiB: larger serves bursts of
    /// frees and allocations from the caches; smaller keeps a small program's resident size near its live set (a
    /// process's <c>malloc</c> may want 256 KiB). Zero leaves only the share of the live bytes.</summary>
    public nuint SharedCacheBytesPerCpu { get; init; } = 2 << 20;

    /// <summary>The platform (CPU count, current CPU); null means <see cref="HostPlatform.Instance"/>.</summary>
    public IPlatform? Platform { get; init; }

    /// <summary>The heap's name, the <c>heap</c> tag of its metrics (see <see cref="NativeHeap.Name"/>); null means
    /// <c>"heap-N"</c>, where N numbers the heaps this process made without a name. Give each heap its own: two heaps
    /// of one name report under one tag. Must not be empty.</summary>
    public string? Name { get; init; }
}
