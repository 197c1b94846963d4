using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// BuddySlab's <see cref="NativeMemoryPool"/> over a <see cref="NativeHeap"/> of its own, new for every repetition, so
/// that what the heap still counts after a run (<see cref="NativeHeap.AllocatedBytes"/>, <see cref="NativeHeap.CachedBytes"/>)
/// is that run's alone. The heap has the default options (a purge interval of one second); disposing the subject
/// disposes the pool, then the heap.
/// </summary>
public static class DedicatedHeapPool
{
    public static PoolSubject Create()
    {
        var options = new NativeHeapOptions();
        var heap = new NativeHeap(options);
        var pool = new NativeMemoryPool(heap);
        return new PoolSubject(pool, heap, options.PurgeInterval, () =>
        {
            pool.Dispose();
            heap.Dispose();
        });
    }
}
