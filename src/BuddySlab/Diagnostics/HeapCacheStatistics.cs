namespace BuddySlab;

/// <summary>
/// Bytes each kind of cache holds inside a heap's allocated pages: memory that is neither live nor free in the buddy,
/// and that <c>Trim()</c> gives back. Part of <see cref="HeapStatistics"/>.
/// </summary>
/// <param name="ThreadMagazineBytes">Objects in the threads' loaded and previous magazines, including those of threads
/// that exited and were not taken over yet.</param>
/// <param name="ThreadRunBytes">Page runs on the threads' run stacks.</param>
/// <param name="CpuDepotBytes">Objects in the full magazines of the CPUs' magazine depots.</param>
/// <param name="SharedDepotBytes">Objects in the full magazines of the depot all CPUs share.</param>
/// <param name="CpuPageRunBytes">Page runs in the CPUs' page-run caches.</param>
/// <param name="EmptySlabBytes">Slabs with every object free: the one each CPU keeps per class, and any waiting to go
/// back to the buddy.</param>
/// <param name="RemoteFreeBytes">Objects freed on another CPU than their slab's owner and not yet drained into their
/// slab (their slab still counts them as in use).</param>
public readonly record struct HeapCacheStatistics(
    nuint ThreadMagazineBytes,
    nuint ThreadRunBytes,
    nuint CpuDepotBytes,
    nuint SharedDepotBytes,
    nuint CpuPageRunBytes,
    nuint EmptySlabBytes,
    nuint RemoteFreeBytes)
{
    /// <summary>The sum of every kind.</summary>
    public nuint TotalBytes =>
        ThreadMagazineBytes + ThreadRunBytes + CpuDepotBytes + SharedDepotBytes + CpuPageRunBytes + EmptySlabBytes + RemoteFreeBytes;
}
