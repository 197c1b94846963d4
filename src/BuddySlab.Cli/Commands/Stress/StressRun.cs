using BuddySlab.Cli.Bench.WorkloadSupport;
using System.Diagnostics;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Commands.Stress;

/// <summary>
/// The supervisor of a stress run. It keeps <see cref="StressOptions.Threads"/> workers alive (each dies after 0.5 to
/// 3 seconds and is replaced), disposes and replaces the disposable heap every 1.5 seconds while workers call it, and
/// once a second prints the run's state and checks the memory bounds against what the program holds:
/// <list type="bullet">
/// <item>resident size at most <c>live × 2 + 320 MiB</c>;</item>
/// <item><c>AllocatedBytes − CachedBytes</c> (over the long-lived and the current disposable heap) at most <c>live × 1.5 + 64 MiB</c>,</item>
/// </list>
/// where live is the most the program held over the last <see cref="LiveWindow"/> reports (the requested bytes of every
/// block it holds, in workers, queues and orphans): a heap gives freed memory back on its purge clock, within two
/// intervals (one second each by default), so after a sudden drop the resident size follows a few seconds later. At the end the
/// workers stop, every block left is checked and freed, and a summary is printed. Exit code 0, or
/// <see cref="StressState.ExitCorruption"/>, <see cref="StressState.ExitUnexpected"/>, <see cref="StressState.ExitMemoryBound"/>.
/// </summary>
public sealed class StressRun(StressOptions options)
{
    // The resident slack covers the process itself (the runtime, the soak's managed side: about 60 MiB) and what the purge
    // clock has not yet given back of two seconds of turnover at up to 1 MiB a block.
    private const long ResidentSlack = 320L << 20, AllocatedSlack = 64L << 20;
    private static readonly TimeSpan RecreateEvery = TimeSpan.FromMilliseconds(1500);

    /// <summary>Reports (one a second) over which the bounds take the most live: two purge intervals and some slack.</summary>
    private const int LiveWindow = 4;

    private readonly long[] _recentLive = new long[LiveWindow];
    private int _reports;
    private long _maxResident;
    private double _maxAllocatedOverLive;

    public int Execute()
    {
        using NativeHeap? dedicated = options.DedicatedHeap ? new NativeHeap() : null;
        var state = new StressState(options, new HeapSlot(dedicated ?? NativeHeap.Shared, disposable: false, generation: 0));
        int generation = 0;
        state.Disposable = new HeapSlot(new NativeHeap(), disposable: true, ++generation);
        Console.WriteLine($"buddyslab stress: {options.Seconds} s, {options.Threads} worker(s), seed {options.Seed}, long-lived heap: " +
                          $"{(options.DedicatedHeap ? "a new NativeHeap()" : "NativeHeap.Shared")}, plus a disposable heap replaced every {RecreateEvery.TotalSeconds} s");
        Console.WriteLine($"bounds: resident <= live x 2 + {ResidentSlack >> 20} MiB; AllocatedBytes - CachedBytes <= live x 1.5 + {AllocatedSlack >> 20} MiB " +
                          $"(live: the most in the last {LiveWindow} s)");

        var clock = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(options.Seconds);
        var workers = new Thread?[options.Threads];
        var random = new FastRandom(options.Seed);
        int started = 0;
        bool injected = !options.InjectCorruption;
        TimeSpan nextPrint = TimeSpan.FromSeconds(1), nextRecreate = RecreateEvery;
        long lastOps = 0;
        while (!state.Stop && clock.Elapsed < end)
        {
            for (int i = 0; i < workers.Length; i++)
            {
                if (workers[i] is { IsAlive: true }) continue;
                var lifetime = TimeSpan.FromMilliseconds(500 + random.NextBelow(2500));
                var worker = new StressWorker(state, i, ++started);
                bool inject = !injected;
                injected = true;
                workers[i] = new Thread(() => worker.Run(lifetime, inject)) { IsBackground = true, Name = $"stress worker {i}" };
                workers[i]!.Start();
            }
            Thread.Sleep(20);
            if (clock.Elapsed >= nextRecreate)
            {
                var old = state.Disposable!;
                state.Disposable = new HeapSlot(new NativeHeap(), disposable: true, ++generation);
                old.Dispose();
                Interlocked.Increment(ref state.Counters.HeapsRecreated);
                nextRecreate += RecreateEvery;
            }
            if (clock.Elapsed >= nextPrint)
            {
                long ops = Interlocked.Read(ref state.Counters.Operations);
                Report(state, clock.Elapsed, ops - lastOps);
                lastOps = ops;
                nextPrint += TimeSpan.FromSeconds(1);
            }
        }
        state.Stop = true;
        foreach (var t in workers) t?.Join();
        if (state.Failure == null) FreeAll(state);
        state.Disposable?.Dispose();
        Summary(state, clock.Elapsed);
        return state.ExitCode;
    }

    /// <summary>One line of the run's state, and the bounds checked against it.</summary>
    private void Report(StressState state, TimeSpan elapsed, long operations)
    {
        HeapSlot main = state.Main, disposable = state.Disposable!;
        long live = main.LiveBytes + disposable.LiveBytes, blocks = main.LiveBlocks + disposable.LiveBlocks;
        long allocated = (long)main.Heap.AllocatedBytes + (long)disposable.Heap.AllocatedBytes;
        long cached = (long)main.Heap.CachedBytes + (long)disposable.Heap.CachedBytes;
        long reserved = (long)main.Heap.ReservedBytes + (long)disposable.Heap.ReservedBytes;
        long resident = ProcessMemory.ResidentBytes();
        _maxResident = Math.Max(_maxResident, resident);
        if (live >= 1 << 20) _maxAllocatedOverLive = Math.Max(_maxAllocatedOverLive, (double)allocated / live);
        Console.WriteLine($"{elapsed.TotalSeconds,5:0.0} s  {operations,10:N0} ops/s  live {blocks,7:N0} blocks {MiB(live),8}  " +
                          $"allocated {MiB(allocated),8}  cached {MiB(cached),8}  reserved {MiB(reserved),9}  resident {MiB(resident),8}");
        _recentLive[_reports++ % LiveWindow] = live;
        long recent = _recentLive.Max();
        if (resident > recent * 2 + ResidentSlack)
            state.Fail(StressState.ExitMemoryBound, $"Memory bound exceeded: resident {MiB(resident)} > live {MiB(recent)} (the most in the last {LiveWindow} s) x 2 + {ResidentSlack >> 20} MiB.");
        else if (allocated - cached > recent * 3 / 2 + AllocatedSlack)
            state.Fail(StressState.ExitMemoryBound, $"Memory bound exceeded: AllocatedBytes - CachedBytes {MiB(allocated - cached)} > live {MiB(recent)} (the most in the last {LiveWindow} s) x 1.5 + {AllocatedSlack >> 20} MiB.");
    }

    /// <summary>Checks and frees every block the stopped workers left (as orphans) and every block still in a queue.</summary>
    private static void FreeAll(StressState state)
    {
        var sweeper = new StressWorker(state, 0, -1);
        sweeper.FreeLeftovers();
    }

    private void Summary(StressState state, TimeSpan elapsed)
    {
        var c = state.Counters;
        Console.WriteLine();
        Console.WriteLine($"summary: {elapsed.TotalSeconds:0.0} s, {c.Operations:N0} steps; allocations {c.Allocations:N0}, Free(p) {c.UnsizedFrees:N0}, " +
                          $"sized Free {c.SizedFrees:N0}, Reallocate {c.Reallocations:N0}, UsableSize {c.UsableSizes:N0}, handoffs {c.Handoffs:N0}, " +
                          $"orphans freed {c.OrphansFreed:N0}, thread deaths {c.ThreadDeaths:N0}, heaps recreated {c.HeapsRecreated:N0}, Trim {c.Trims:N0}");
        Console.WriteLine($"checks {c.Checks:N0} ({MiB(c.BytesChecked)} checked); calls refused by a disposed heap {c.RefusedByDisposedHeap:N0}, " +
                          $"blocks dropped with their heap {c.DroppedWithHeap:N0}; max resident {MiB(_maxResident)}, max AllocatedBytes/live {_maxAllocatedOverLive:0.00}");
        Console.WriteLine(state.Failure is { } f ? $"FAILED: {f}" : "passed: no corruption, no unexpected exception, memory within bounds");
    }

    private static string MiB(long bytes) => $"{bytes / 1048576.0:N1} MiB";
}
