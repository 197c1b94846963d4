namespace BuddySlab.Cli.Commands.Stress;

/// <summary>
/// One heap of the stress run and what the run holds in it: the live blocks' count and requested bytes. The long-lived
/// heap is never disposed while workers run; a disposable one is disposed and replaced now and then while workers still
/// call it.
/// <para>
/// Workers call the heap (allocate, free, reallocate) whenever they like, racing <see cref="Dispose"/>: the heap must
/// answer those calls or refuse them with <see cref="ObjectDisposedException"/> or <see cref="AllocatorException"/>.
/// Reading or writing a block's bytes is another matter: once the heap has given its memory back, those bytes are
/// gone, and touching them is the program's fault, not the heap's. So a worker touches a disposable heap's block only
/// between <see cref="TryEnterTouch"/> and <see cref="ExitTouch"/>, and <see cref="Dispose"/> first closes the gate and
/// waits until no touch is in progress. A block of a disposed heap is simply dropped.
/// </para>
/// </summary>
public sealed class HeapSlot(NativeHeap heap, bool disposable, int generation)
{
    private int _touching;
    private int _closed;
    private long _liveBlocks, _liveBytes;

    public NativeHeap Heap { get; } = heap;
    public bool Disposable { get; } = disposable;
    public int Generation { get; } = generation;
    public bool Closed => Volatile.Read(ref _closed) != 0;
    public long LiveBlocks => Interlocked.Read(ref _liveBlocks);
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    public void Added(nuint size)
    {
        Interlocked.Increment(ref _liveBlocks);
        Interlocked.Add(ref _liveBytes, (long)size);
    }

    public void Removed(nuint size)
    {
        Interlocked.Decrement(ref _liveBlocks);
        Interlocked.Add(ref _liveBytes, -(long)size);
    }

    /// <summary>True when the block bytes of this heap may be touched until <see cref="ExitTouch"/>; always for the long-lived heap.</summary>
    public bool TryEnterTouch()
    {
        if (!Disposable) return true;
        Interlocked.Increment(ref _touching);
        if (Volatile.Read(ref _closed) == 0) return true;
        Interlocked.Decrement(ref _touching);
        return false;
    }

    public void ExitTouch()
    {
        if (Disposable) Interlocked.Decrement(ref _touching);
    }

    /// <summary>Closes the gate, waits out the touches in progress, and disposes the heap (calls in flight are the heap's affair).</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _closed, 1);
        var spin = new SpinWait();
        while (Volatile.Read(ref _touching) != 0) spin.SpinOnce();
        Heap.Dispose();
    }
}
