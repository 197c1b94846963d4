namespace BuddySlab.Sample;

/// <summary>
/// The platform a small kernel would describe at boot: one CPU, and the region mapped so that its first byte
/// sits at physical address 16 MiB (so all of it lies below 4 GiB, where devices limited to 32-bit addresses
/// can reach it).
/// </summary>
internal sealed class BootPlatform(nuint regionStart) : IPlatform
{
    public const ulong PhysicalBase = 16 << 20;

    public int ProcessorCount => 1;

    public int CurrentProcessor => 0;

    public ulong VirtualToPhysical(nuint virtualAddress) => PhysicalBase + (virtualAddress - regionStart);
}
