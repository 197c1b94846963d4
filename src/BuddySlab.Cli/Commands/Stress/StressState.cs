using System.Collections.Concurrent;

namespace BuddySlab.Cli.Commands.Stress;

/// <summary>What the workers and the supervisor of a stress run share: the heaps, the queues blocks travel through,
/// the counters, the stop flag and the first failure.</summary>
public sealed class StressState(StressOptions options, HeapSlot main)
{
    public const int ExitCorruption = 1, ExitUnexpected = 3, ExitMemoryBound = 4;

    private HeapSlot? _disposable;
    private string? _failure;
    private long _nextTag;

    public StressOptions Options { get; } = options;
    public HeapSlot Main { get; } = main;

    /// <summary>The disposable heap workers use now (replaced by the supervisor); null before the first.</summary>
    public HeapSlot? Disposable
    {
        get => Volatile.Read(ref _disposable);
        set => Volatile.Write(ref _disposable, value);
    }

    /// <summary>One queue per worker slot: blocks another worker allocated, for this one to check and free.</summary>
    public ConcurrentQueue<StressBlock>[] Inboxes { get; } =
        Enumerable.Range(0, options.Threads).Select(_ => new ConcurrentQueue<StressBlock>()).ToArray();

    /// <summary>Blocks of workers that died holding them, for the survivors to check and free.</summary>
    public ConcurrentQueue<StressBlock> Orphans { get; } = new();

    public StressCounters Counters { get; } = new();
    public volatile bool Stop;
    public int ExitCode { get; private set; }
    public string? Failure => Volatile.Read(ref _failure);

    public ulong NextTag() => (ulong)Interlocked.Increment(ref _nextTag);

    /// <summary>Records the first failure and stops the run.</summary>
    public void Fail(int exitCode, string message)
    {
        if (Interlocked.CompareExchange(ref _failure, message, null) == null) ExitCode = exitCode;
        Stop = true;
    }
}

/// <summary>The run's totals, added to by every worker.</summary>
public sealed class StressCounters
{
    public long Operations, Allocations, UnsizedFrees, SizedFrees, Reallocations, UsableSizes, Handoffs, Checks, BytesChecked;
    public long ThreadDeaths, OrphansFreed, HeapsRecreated, Trims, RefusedByDisposedHeap, DroppedWithHeap;
}
