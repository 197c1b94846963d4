using System.Buffers;
using System.Runtime.CompilerServices;
using BuddySlab.Buffers;

namespace BuddySlab;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> of bytes over native memory, in segments: when the current segment is full the
/// writer starts another, so what was written is never copied and a large document needs no large block.
/// <see cref="WrittenSequence"/> reads the segments in order as one <see cref="ReadOnlySequence{T}"/>.
/// </summary>
/// <remarks>
/// <para>Segments start at the constructor's <c>segmentSize</c> and double with each new one up to 1 MiB (or
/// <c>segmentSize</c>, when that is larger), so a long document takes a few dozen segment objects, not thousands;
/// a size hint larger than that gets a segment of its own size. A request that does not fit what is left of the
/// current segment starts the next one, leaving the rest of the current one unused.</para>
/// <para><see cref="GetSpan"/> and <see cref="GetMemory"/> return at least the size hint (at least 1 byte for 0): all
/// that is left of the current segment. <see cref="Advance"/> accepts at most what the last of them returned, less
/// what was advanced since; a negative count throws <see cref="ArgumentOutOfRangeException"/>, more throws
/// <see cref="InvalidOperationException"/>, and the writer is left as it was.</para>
/// <para><see cref="Reset"/> forgets what was written but keeps every segment and its block, and the next document
/// is written over them from the front: a writer reused for documents of similar size allocates nothing, managed or
/// native. <see cref="WrittenSequence"/> and memory from the writer are valid until <see cref="Reset"/> or
/// <see cref="Dispose"/>; after Dispose, the writer's members and the spans of such memory throw
/// <see cref="ObjectDisposedException"/>.</para>
/// <para><see cref="Dispose"/> frees every block. A writer that is never disposed frees them from its finalizer once
/// nothing reaches it, or memory or a sequence it handed out (those keep it reachable); a block the allocator
/// refuses to take back then (the allocator was disposed first) is ignored. Not thread-safe: one writer, one
/// thread at a time.</para>
/// </remarks>
public sealed unsafe class NativeBufferWriter : IBufferWriter<byte>, IDisposable
{
    private const int GrowthLimit = 1 << 20;

    // Invariants between calls, until Dispose:
    // - The chain runs from _head through NextSegment links; every segment in it holds a block of Capacity >= 1.
    // - _current is null (nothing asked for since construction or Reset) or in the chain; segments before it are
    //   sealed at what was written into them, and those after it are spares kept from before a Reset.
    // - 0 <= _written <= _current.Capacity; 0 <= _available <= _current.Capacity - _written, and 0 when _current is null.
    private readonly INativeAllocator _allocator;
    private readonly int _segmentSize;
    private WriterSegment? _head;
    private WriterSegment? _current;
    private int _written;
    private int _available;
    private bool _disposed;

    /// <summary>Creates a writer over <see cref="NativeHeap.Shared"/> with 4 KiB first segments.</summary>
    public NativeBufferWriter() : this(NativeHeap.Shared)
    {
    }

    /// <summary>Creates a writer over <paramref name="allocator"/>.</summary>
    /// <param name="allocator">Where segments come from and go back to; the writer does not dispose it.</param>
    /// <param name="segmentSize">Bytes of the first segment, at least 1; later ones double up to 1 MiB or this size.</param>
    public NativeBufferWriter(INativeAllocator allocator, int segmentSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        if (segmentSize < 1)
            throw new ArgumentOutOfRangeException(nameof(segmentSize), segmentSize, "A segment must be at least 1 byte.");
        _allocator = allocator;
        _segmentSize = segmentSize;
    }

    /// <summary>Frees the blocks of a writer that was never disposed.</summary>
    ~NativeBufferWriter() => FreeSegments(quietly: true);

    /// <summary>Bytes written since construction or the last <see cref="Reset"/>.</summary>
    public long WrittenCount
    {
        get
        {
            ThrowIfDisposed();
            return _current is null ? 0 : _current.RunningIndex + _written;
        }
    }

    /// <summary>What was written, in order, over the writer's own segments (nothing is copied). Valid until
    /// <see cref="Reset"/> or <see cref="Dispose"/>.</summary>
    public ReadOnlySequence<byte> WrittenSequence
    {
        get
        {
            ThrowIfDisposed();
            return _current is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_head!, 0, _current, _written);
        }
    }

    /// <summary>Commits <paramref name="count"/> bytes of what the last <see cref="GetSpan"/> or <see cref="GetMemory"/> returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(int count)
    {
        if ((uint)count > (uint)_available || _disposed) ThrowBadAdvance(count);
        _written += count;
        _available -= count;
    }

    /// <summary>Returns writable memory of at least <paramref name="sizeHint"/> bytes (at least 1 for 0).</summary>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (!Fits(sizeHint)) StartSegment(sizeHint);
        WriterSegment segment = _current!;
        int free = segment.Capacity - _written;
        _available = free;
        return segment.Block.Slice(_written, free);
    }

    /// <summary>Returns a writable span of at least <paramref name="sizeHint"/> bytes (at least 1 for 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        if (!Fits(sizeHint)) StartSegment(sizeHint);
        WriterSegment segment = _current!;
        int free = segment.Capacity - _written;
        _available = free;
        return new Span<byte>(segment.Pointer + _written, free);
    }

    /// <summary>Writes what was written to <paramref name="destination"/>, segment by segment.</summary>
    public void CopyTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ThrowIfDisposed();
        for (WriterSegment? segment = _head; _current is not null && segment is not null; segment = segment.NextSegment)
        {
            bool last = segment == _current;
            destination.Write(new ReadOnlySpan<byte>(segment.Pointer, last ? _written : segment.Memory.Length));
            if (last) break;
        }
    }

    /// <summary>Forgets what was written. Every segment and its block is kept and written over from the front;
    /// <see cref="Dispose"/> frees them.</summary>
    public void Reset()
    {
        ThrowIfDisposed();
        _current = null;
        _written = 0;
        _available = 0;
    }

    /// <summary>Frees every segment's block. Later calls throw <see cref="ObjectDisposedException"/>; a second Dispose does nothing.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        FreeSegments(quietly: false);
        GC.SuppressFinalize(this);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Fits(int sizeHint)
    {
        WriterSegment? segment = _current;
        if (segment is null) return false;
        int free = segment.Capacity - _written;
        return (uint)sizeHint <= (uint)free && free != 0;
    }

    /// <summary>Makes <see cref="_current"/> a segment with room for <paramref name="sizeHint"/> bytes (at least 1):
    /// the current one with a larger block if nothing is written in it yet, else the next one, a spare reused (with a
    /// larger block if it is too small) or a new one. The block is allocated before anything changes, so a failure
    /// leaves the writer as it was.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartSegment(int sizeHint)
    {
        if (sizeHint < 0) BufferThrow.OutOfRange(nameof(sizeHint), sizeHint, "The size hint cannot be negative.");
        ThrowIfDisposed();
        int need = Math.Max(sizeHint, 1);
        WriterSegment? current = _current;
        if (current is not null && _written == 0)
        {
            // Nothing written here yet: a larger block in its place keeps empty segments out of the sequence.
            int larger = NextCapacity(current.Capacity, need);
            Replace(current, Allocate(larger), larger);
            current.Open(current.RunningIndex);
            _available = 0;
            return;
        }

        WriterSegment? next = current is null ? _head : current.NextSegment;
        if (next is null || next.Capacity < need)
        {
            int capacity = NextCapacity(current?.Capacity ?? 0, need);
            WriterSegment segment = next ?? new WriterSegment(this);
            byte* block = Allocate(capacity);
            if (next is null)
            {
                segment.Block.Attach(block, capacity);
                if (current is null) _head = segment;
                else current.Link(segment);
            }
            else
            {
                Replace(segment, block, capacity);
            }
            next = segment;
        }

        long runningIndex = 0;
        if (current is not null)
        {
            current.Seal(_written);
            runningIndex = current.RunningIndex + _written;
        }
        next.Open(runningIndex);
        _current = next;
        _written = 0;
        _available = 0;
    }

    /// <summary>The capacity of a segment after one of <paramref name="previous"/> bytes (0: none): double, between
    /// the first segment's size and the growth limit, and never less than <paramref name="need"/>.</summary>
    private int NextCapacity(int previous, int need)
    {
        long grown = previous == 0 ? _segmentSize : Math.Min(2L * previous, Math.Max(_segmentSize, GrowthLimit));
        return (int)Math.Max(Math.Max(grown, _segmentSize), need);
    }

    private byte* Allocate(int capacity) => (byte*)_allocator.Allocate((nuint)capacity);

    /// <summary>Gives <paramref name="segment"/> a new block and frees its old one.</summary>
    private void Replace(WriterSegment segment, byte* block, int capacity)
    {
        int oldCapacity = segment.Capacity;
        byte* old = segment.Block.Detach();
        segment.Block.Attach(block, capacity);
        _allocator.Free(old, (nuint)oldCapacity, INativeAllocator.DefaultAlignment((nuint)oldCapacity));
    }

    /// <summary>Frees every block in the chain and kills the memory made from them. From the finalizer, an allocator
    /// that refuses (it was disposed before this writer) is ignored: its memory is gone anyway.</summary>
    private void FreeSegments(bool quietly)
    {
        _disposed = true;
        WriterSegment? segment = _head;
        _head = null;
        _current = null;
        _written = 0;
        _available = 0;
        for (; segment is not null; segment = segment.NextSegment)
        {
            int capacity = segment.Capacity;
            byte* block = segment.Block.Detach();          // memory and sequences made from it throw from now on
            if (block == null) continue;
            if (!quietly)
            {
                _allocator.Free(block, (nuint)capacity, INativeAllocator.DefaultAlignment((nuint)capacity));
                continue;
            }
            try
            {
                _allocator.Free(block, (nuint)capacity, INativeAllocator.DefaultAlignment((nuint)capacity));
            }
            catch (ObjectDisposedException)
            {
            }
            catch (AllocatorException)
            {
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadAdvance(int count)
    {
        ThrowIfDisposed();
        if (count < 0) BufferThrow.OutOfRange(nameof(count), count, "Cannot advance by a negative count.");
        BufferThrow.InvalidOperation(
            $"Cannot advance by {count} bytes: the last GetSpan or GetMemory left room for {_available} more.");
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) BufferThrow.Disposed(nameof(NativeBufferWriter));
    }
}
