using System.Buffers;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// What a <see cref="WorkloadKind.Pools"/> contender hands a workload for one repetition: a <see cref="MemoryPool{T}"/>
/// and, when the pool draws on a <see cref="NativeHeap"/> of its own, that heap and its purge interval, so the
/// workload can report what the heap still counts after the run. Disposing it disposes what the contender created
/// (never a process-wide pool).
/// </summary>
public sealed class PoolSubject(MemoryPool<byte> pool, NativeHeap? heap, TimeSpan purgeInterval, Action dispose) : IDisposable
{
    public MemoryPool<byte> Pool { get; } = pool;

    /// <summary>The heap the pool draws on, when it is the pool's own (null for a shared or managed pool).</summary>
    public NativeHeap? Heap { get; } = heap;

    /// <summary>The <see cref="Heap"/>'s <see cref="NativeHeapOptions.PurgeInterval"/>.</summary>
    public TimeSpan PurgeInterval { get; } = purgeInterval;

    public void Dispose() => dispose();
}
