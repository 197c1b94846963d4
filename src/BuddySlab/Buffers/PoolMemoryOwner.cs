using System.Buffers;

namespace BuddySlab.Buffers;

/// <summary>
/// One rent of a <see cref="NativeMemoryPool"/>: a <see cref="MemoryManager{T}"/> over a native block.
/// </summary>
/// <remarks>
/// An owner lives for exactly one rent and is never reused. Its block address is nonzero until the first Dispose,
/// which swaps it to zero atomically and is the only call that frees it; every later use of the owner (its
/// <see cref="Memory"/>, the span of any <see cref="Memory{T}"/> made from it, <see cref="Pin"/>) throws
/// <see cref="ObjectDisposedException"/>. Pinning is free: the memory never moves, so <see cref="Unpin"/> has nothing to do.
/// </remarks>
internal sealed unsafe class PoolMemoryOwner : MemoryManager<byte>
{
    private readonly NativeMemoryPool _pool;
    private readonly int _length;
    private nint _block;

    public PoolMemoryOwner(NativeMemoryPool pool, void* block, int length)
    {
        _pool = pool;
        _block = (nint)block;
        _length = length;
    }

    public override Memory<byte> Memory
    {
        get
        {
            if (_block == 0) ThrowDisposed();
            return CreateMemory(_length);
        }
    }

    public override Span<byte> GetSpan()
    {
        nint block = _block;
        if (block == 0) ThrowDisposed();
        return new Span<byte>((void*)block, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        nint block = _block;
        if (block == 0) ThrowDisposed();
        if ((uint)elementIndex > (uint)_length)
            BufferThrow.OutOfRange(nameof(elementIndex), elementIndex, $"The element to pin must be within the {_length} bytes rented.");
        return new MemoryHandle((byte*)block + elementIndex, default, this);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        nint block = Interlocked.Exchange(ref _block, 0);
        if (block != 0) _pool.Return((void*)block, _length);
    }

    private static void ThrowDisposed() =>
        BufferThrow.Disposed(nameof(NativeMemoryPool), "The rented memory was returned to the NativeMemoryPool: its owner is disposed.");
}
