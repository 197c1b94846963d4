namespace BuddySlab.Cli.Os;

/// <summary>
/// Reads this process's resident memory from <c>/proc/self/status</c> (Linux): <c>VmRSS</c> now and <c>VmHWM</c>,
/// the peak. Writing 5 to <c>/proc/self/clear_refs</c> resets the peak to the current size (Linux 4.0+), which lets
/// a <see cref="MemoryProbe"/> measure the peak of one timed section instead of the whole process's life.
/// </summary>
public static class ProcessMemory
{
    public static long ResidentBytes() => ReadKilobytes("VmRSS:") * 1024;

    public static long PeakResidentBytes() => ReadKilobytes("VmHWM:") * 1024;

    /// <summary>Resets the peak to the current resident size; false where the kernel or sandbox does not allow it.</summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static long ReadKilobytes(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim());
        return 0;
    }
}
