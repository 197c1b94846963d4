namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// The host as a machine of one CPU: a map's heap keeps one set of per-CPU caches, so where the thread happens to run
/// never changes which slab an object lands in, and a seed draws the same picture every time. Physical addresses are
/// the host's.
/// </summary>
internal sealed class OneCpuPlatform : IPlatform
{
    public static OneCpuPlatform Instance { get; } = new();

    public int ProcessorCount => 1;

    public int CurrentProcessor => 0;

    public ulong VirtualToPhysical(nuint virtualAddress) => HostPlatform.Instance.VirtualToPhysical(virtualAddress);
}
