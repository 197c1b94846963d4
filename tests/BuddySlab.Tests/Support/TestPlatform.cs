namespace BuddySlab.Tests.Support;

/// <summary>
/// A deterministic platform: the test chooses the current CPU (per thread, or one value for all), and
/// optionally a virtual-to-physical mapping.
/// </summary>
internal sealed class TestPlatform : IPlatform
{
    private readonly ThreadLocal<int?> _threadCpu = new();
    private readonly Func<nuint, ulong>? _map;

    public TestPlatform(int processorCount = 1, Func<nuint, ulong>? map = null)
    {
        ProcessorCount = processorCount;
        _map = map;
    }

    public int ProcessorCount { get; }

    /// <summary>The CPU reported to threads that have not chosen their own.</summary>
    public int DefaultProcessor { get; set; }

    /// <summary>The CPU reported to the calling thread from now on.</summary>
    public int ThreadProcessor { set => _threadCpu.Value = value; }

    public int CurrentProcessor => _threadCpu.Value ?? DefaultProcessor;

    public ulong VirtualToPhysical(nuint virtualAddress) => _map is null ? virtualAddress : _map(virtualAddress);
}
