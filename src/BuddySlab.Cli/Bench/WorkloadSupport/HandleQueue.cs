namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// A bounded single-producer, single-consumer queue of handles with their sizes: a ring of slots, the producer's and
/// the consumer's positions on cache lines of their own. A full queue makes the producer wait, an empty one the
/// consumer, spinning and yielding (never sleeping a whole millisecond); either gives up when its team is aborted.
/// </summary>
public sealed class HandleQueue<THandle>(int capacity) where THandle : struct
{
    private readonly THandle[] _handles = new THandle[capacity];
    private readonly uint[] _sizes = new uint[capacity];
    private readonly long[] _positions = new long[32];   // [0]: enqueued so far, [16]: dequeued so far (128 bytes apart)

    public void Enqueue(THandle handle, uint size, ThreadTeam team)
    {
        long tail = _positions[0];
        if (tail - Volatile.Read(ref _positions[16]) == capacity) WaitUntil(ref _positions[16], tail - capacity + 1, team);
        int slot = (int)(tail % capacity);
        _handles[slot] = handle;
        _sizes[slot] = size;
        Volatile.Write(ref _positions[0], tail + 1);
    }

    public THandle Dequeue(out uint size, ThreadTeam team)
    {
        long head = _positions[16];
        if (Volatile.Read(ref _positions[0]) == head) WaitUntil(ref _positions[0], head + 1, team);
        int slot = (int)(head % capacity);
        THandle handle = _handles[slot];
        size = _sizes[slot];
        _handles[slot] = default;
        Volatile.Write(ref _positions[16], head + 1);
        return handle;
    }

    private static void WaitUntil(ref long position, long atLeast, ThreadTeam team)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref position) < atLeast)
        {
            spin.SpinOnce(sleep1Threshold: -1);
            if (team.Aborted) throw new OperationCanceledException(team.Token);
        }
    }
}
