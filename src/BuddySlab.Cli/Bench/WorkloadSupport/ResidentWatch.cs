using System.Diagnostics;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// Watches a <see cref="NativeHeap"/> that nothing calls any more: every <see cref="SampleInterval"/> it reads the
/// process's resident size and the heap's <see cref="NativeHeap.AllocatedBytes"/> (a plain counter read, not a call
/// into the heap), for a number of the heap's purge intervals, and finds when the resident size first came back within
/// 10% of the size before the heap was created. <see cref="NativeHeap.CachedBytes"/> is read once, after the watch:
/// reading it enters the heap as a call from the reading thread, which would count as use and keep the heap from ever
/// looking idle to its own purge passes.
/// <para>
/// <see cref="Quiet"/> waits, before a heap is created, until the process's resident size holds still (other heaps of
/// this process give memory back on their own clocks), so that the pre-run size is not a moment of someone else's decline.
/// </para>
/// </summary>
public static class ResidentWatch
{
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The bound a resident size must come back under: 10% above the pre-run size.</summary>
    public const double Tolerance = 0.10;

    /// <summary>Waits until the resident size moved less than 1 MiB over half a second (at most 3 seconds), and returns it.</summary>
    public static long Quiet()
    {
        var clock = Stopwatch.StartNew();
        long last = ProcessMemory.ResidentBytes();
        while (clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            Thread.Sleep(500);
            long now = ProcessMemory.ResidentBytes();
            if (Math.Abs(now - last) < 1 << 20) return now;
            last = now;
        }
        return ProcessMemory.ResidentBytes();
    }

    /// <summary>Disposes the heap and reads the resident size: what the process still holds without the heap at all,
    /// to tell the heap's share of what the watch saw from the runtime's.</summary>
    public static Figure AfterDispose(NativeHeap heap)
    {
        heap.Dispose();
        return new("RSS after Dispose", ProcessMemory.ResidentBytes(), FigureUnit.Bytes);
    }

    /// <summary>Samples for <paramref name="intervals"/> purge intervals from now, and returns the figures and the curve
    /// (time in ms from the start of the watch, resident bytes, allocated bytes).</summary>
    public static (Figure[] Figures, Series Curve) Watch(NativeHeap heap, long preRunResident, TimeSpan purgeInterval, int intervals)
    {
        var rows = new List<double[]>();
        long bound = (long)(preRunResident * (1 + Tolerance));
        double recoveredMs = double.NaN, intervalMs = purgeInterval.TotalMilliseconds;
        long allocatedAtStart = (long)heap.AllocatedBytes, resident = 0, allocated = 0;
        long allocatedAtTwo = -1, residentAtTwo = -1;
        var clock = Stopwatch.StartNew();
        TimeSpan end = purgeInterval * intervals;
        for (int i = 0; ; i++)
        {
            double ms = clock.Elapsed.TotalMilliseconds;
            resident = ProcessMemory.ResidentBytes();
            allocated = (long)heap.AllocatedBytes;
            rows.Add([Math.Round(ms, 1), resident, allocated]);
            if (double.IsNaN(recoveredMs) && resident <= bound) recoveredMs = ms;
            if (allocatedAtTwo < 0 && ms >= 2 * intervalMs) (allocatedAtTwo, residentAtTwo) = (allocated, resident);
            if (clock.Elapsed >= end) break;
            // Sleep to the next sample's moment, so the samples do not drift.
            TimeSpan next = SampleInterval * (i + 1) - clock.Elapsed;
            if (next > TimeSpan.Zero) Thread.Sleep(next);
        }
        long cachedAtEnd = (long)heap.CachedBytes;
        Figure[] figures =
        [
            new("back within 10%", recoveredMs / intervalMs, FigureUnit.PurgeIntervals),
            new("RSS pre-run", preRunResident, FigureUnit.Bytes),
            new("RSS at watch start", (long)rows[0][1], FigureUnit.Bytes),
            new("RSS after 2 intervals", residentAtTwo, FigureUnit.Bytes),
            new($"RSS after {intervals} intervals", resident, FigureUnit.Bytes),
            new("allocated at watch start", allocatedAtStart, FigureUnit.Bytes),
            new("allocated after 2 intervals", allocatedAtTwo, FigureUnit.Bytes),
            new($"allocated after {intervals} intervals", allocated, FigureUnit.Bytes),
            new($"cached after {intervals} intervals", cachedAtEnd, FigureUnit.Bytes),
        ];
        return (figures, new Series("resident over time", ["ms", "rssBytes", "allocatedBytes"], rows));
    }
}
