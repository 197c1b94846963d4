using System.Buffers;

namespace BuddySlab.Buffers;

/// <summary>
/// The native block of one <see cref="WriterSegment"/>, as a <see cref="MemoryManager{T}"/> so that the writer can hand
/// out <see cref="Memory{T}"/> and sequence segments over it.
/// </summary>
/// <remarks>
/// The writer owns the block: it allocates it, swaps it for a larger one (<see cref="Attach"/>), and frees it
/// (<see cref="Detach"/>); this object never frees anything, and disposing it does nothing. After <see cref="Detach"/>
/// the span of any <see cref="Memory{T}"/> made from it throws <see cref="ObjectDisposedException"/>. It holds its writer,
/// so memory or a sequence from the writer keeps the writer (and so its blocks) from being finalized.
/// </remarks>
internal sealed unsafe class SegmentMemory : MemoryManager<byte>
{
    private readonly NativeBufferWriter _writer;
    private byte* _block;
    private int _capacity;

    public SegmentMemory(NativeBufferWriter writer) => _writer = writer;

    public byte* Block => _block;

    public int Capacity => _capacity;

    /// <summary>Makes this the memory of <paramref name="block"/>, replacing any block before it (which the writer frees).</summary>
    public void Attach(byte* block, int capacity)
    {
        _block = block;
        _capacity = capacity;
    }

    /// <summary>Forgets the block (the writer is freeing it); memory made from this object is dead from now on.</summary>
    public byte* Detach()
    {
        byte* block = _block;
        _block = null;
        _capacity = 0;
        return block;
    }

    /// <summary>Memory over bytes <paramref name="start"/> to <paramref name="start"/> + <paramref name="length"/> of the block.</summary>
    public Memory<byte> Slice(int start, int length) => CreateMemory(start, length);

    public override Span<byte> GetSpan()
    {
        if (_block == null) BufferThrow.Disposed(nameof(NativeBufferWriter));
        return new Span<byte>(_block, _capacity);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if (_block == null) BufferThrow.Disposed(nameof(NativeBufferWriter));
        if ((uint)elementIndex > (uint)_capacity)
            BufferThrow.OutOfRange(nameof(elementIndex), elementIndex, $"The element to pin must be within the segment's {_capacity} bytes.");
        return new MemoryHandle(_block + elementIndex, default, this);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        // The writer owns the block: only its Dispose (or finalizer) frees it.
    }

    /// <summary>The writer this memory belongs to; held so that memory or sequences made from it keep the writer reachable.</summary>
    public NativeBufferWriter Writer => _writer;
}
