namespace BuddySlab;

/// <summary>
/// The platform of an ordinary .NET process: <see cref="Environment.ProcessorCount"/> CPUs, the
/// current CPU from <see cref="Thread.GetCurrentProcessorId"/> (folded into range), and virtual
/// addresses taken as physical ones.
/// </summary>
public sealed class HostPlatform : IPlatform
{
    private readonly int _processorCount = Math.Max(1, Environment.ProcessorCount);

    private HostPlatform() { }

    /// <summary>The one instance.</summary>
    public static HostPlatform Instance { get; } = new();

    /// <inheritdoc />
    public int ProcessorCount => _processorCount;

    /// <inheritdoc />
    public int CurrentProcessor
    {
        get
        {
            // The runtime caches the id per thread, so this is cheap; ids can exceed the count on some hosts.
            int id = Thread.GetCurrentProcessorId();
            return (uint)id < (uint)_processorCount ? id : (int)((uint)id % (uint)_processorCount);
        }
    }

    /// <inheritdoc />
    public ulong VirtualToPhysical(nuint virtualAddress) => virtualAddress;
}
