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

    /// <summary>The platform (CPU count, current CPU); null means <see cref="HostPlatform.Instance"/>.</summary>
    public IPlatform? Platform { get; init; }
}
