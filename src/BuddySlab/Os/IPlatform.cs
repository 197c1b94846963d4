namespace BuddySlab;

/// <summary>
/// What an allocator needs to know about the machine it runs on: how many CPUs there are, which one
/// the calling thread is on, and where a virtual address lives physically. The host implementation
/// is <see cref="HostPlatform"/>; a kernel supplies its own, tests supply deterministic ones.
/// </summary>
public interface IPlatform
{
    /// <summary>Number of CPUs the allocator keeps caches for; at least 1.</summary>
    int ProcessorCount { get; }

    /// <summary>The CPU the calling thread runs on: <c>0 &lt;= value &lt; ProcessorCount</c>.</summary>
    int CurrentProcessor { get; }

    /// <summary>The physical address behind <paramref name="virtualAddress"/>. Assumed increasing within one region.</summary>
    ulong VirtualToPhysical(nuint virtualAddress);
}
