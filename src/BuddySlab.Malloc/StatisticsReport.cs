using System.Text;

namespace BuddySlab.Malloc;

/// <summary>
/// The summary <c>BUDDYSLAB_MALLOC_STATS=1</c> prints at exit, from a <see cref="HeapStatistics"/> snapshot: a few lines
/// a person reads, each starting <c>buddyslab-malloc:</c>, where every total is followed by its exact count of bytes in
/// parentheses for a script to read (<c>in use 12.0 MiB (12582912 bytes)</c>).
/// </summary>
internal static class StatisticsReport
{
    /// <summary>Size classes listed: those holding the most slab bytes.</summary>
    private const int ClassesShown = 6;

    public static string Format(HeapStatistics s, nuint reservedBytes, long foreignCalls, long invalidPointers)
    {
        HeapCacheStatistics c = s.Caches;
        nuint threadBytes = c.ThreadMagazineBytes + c.ThreadRunBytes;
        nuint sharedBytes = c.CpuDepotBytes + c.SharedDepotBytes + c.CpuPageRunBytes;
        nuint outsideCaches = s.AllocatedBytes > s.CachedBytes ? s.AllocatedBytes - s.CachedBytes : 0;
        var text = new StringBuilder();
        Line(text, $"heap statistics at exit of process {Environment.ProcessId}");
        Line(text, $"  pages     {Exact(s.ManagedBytes)} managed in {s.Sections.Count} section(s) of a {Size(reservedBytes)} "
            + $"reservation; in use {Exact(s.AllocatedBytes)}; the caches' metadata {Exact(s.MetadataBytes)}; "
            + $"resident {Exact(s.ResidentBytes)}");
        Line(text, $"  in use    outside the caches {Exact(outsideCaches)} (live blocks, and slab space not in a cache); "
            + $"in the caches {Exact(s.CachedBytes)}");
        Line(text, $"  threads   {Exact(threadBytes)} in threads' own caches (exited threads' not yet taken over included): magazines {Size(c.ThreadMagazineBytes)}, "
            + $"page runs {Size(c.ThreadRunBytes)}");
        Line(text, $"  shared    {Exact(sharedBytes)} in the shared caches: CPU depots {Size(c.CpuDepotBytes)}, shared depot "
            + $"{Size(c.SharedDepotBytes)}, CPU page runs {Size(c.CpuPageRunBytes)}; empty slabs {Exact(c.EmptySlabBytes)}; "
            + $"remote frees not drained {Exact(c.RemoteFreeBytes)}");
        Line(text, $"  classes   {Classes(s)}");
        Line(text, $"  activity  {s.Growths} growths, {s.PurgePasses} purge passes, {s.Trims} trims, {s.FailedAllocations} "
            + $"failed allocations, {Size((nuint)s.ReleasedBytes)} given back to the system");
        Line(text, $"  glibc     {foreignCalls} frees and reallocations of glibc's blocks passed on to glibc; "
            + $"{invalidPointers} invalid pointers reported");
        return text.ToString();
    }

    private static void Line(StringBuilder text, string line) => text.Append("buddyslab-malloc: ").Append(line).Append('\n');

    /// <summary>The size classes with the most slab bytes: object size, live objects (with those in caches), slabs.</summary>
    private static string Classes(HeapStatistics s)
    {
        var used = new List<SizeClassStatistics>();
        foreach (SizeClassStatistics sc in s.SizeClasses)
            if (sc.Slabs != 0) used.Add(sc);
        if (used.Count == 0) return "no slabs";
        used.Sort((a, b) => b.SlabBytes.CompareTo(a.SlabBytes));
        var text = new StringBuilder();
        text.Append(used.Count).Append(" with slabs; most slab space: ");
        for (int i = 0; i < Math.Min(ClassesShown, used.Count); i++)
        {
            SizeClassStatistics sc = used[i];
            if (i > 0) text.Append(", ");
            text.Append($"{sc.ObjectSize} B: {sc.ObjectsInUse} objects out in {sc.Slabs} slabs ({Size(sc.SlabBytes)})");
        }
        return text.ToString();
    }

    private static string Exact(nuint bytes) => $"{Size(bytes)} ({bytes} bytes)";

    private static string Size(nuint bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024 * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB",
    };
}
