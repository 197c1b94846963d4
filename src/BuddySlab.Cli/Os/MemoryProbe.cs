namespace BuddySlab.Cli.Os;

/// <summary>Measures the resident memory of one timed section: the resident size when it begins and the peak
/// while it runs (from a peak reset at its start, when the kernel allows it).</summary>
public sealed class MemoryProbe
{
    public long BaselineBytes { get; private set; }
    public long PeakBytes { get; private set; }
    /// <summary>False when the peak could not be reset, so <see cref="PeakBytes"/> covers the whole process's life.</summary>
    public bool PeakWasReset { get; private set; }

    public void Begin()
    {
        PeakWasReset = ProcessMemory.TryResetPeak();
        BaselineBytes = ProcessMemory.ResidentBytes();
    }

    public void End() => PeakBytes = Math.Max(ProcessMemory.PeakResidentBytes(), ProcessMemory.ResidentBytes());
}
