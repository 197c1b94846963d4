using System.Buffers;

namespace BuddySlab.Buffers;

/// <summary>
/// The <see cref="MemoryManager{T}"/> behind <see cref="NativeBuffer{T}.Memory"/>: every span it gives is the buffer's
/// current one, so memory taken before a <see cref="NativeBuffer{T}.Resize"/> sees the new block (or throws when it
/// reaches past a shorter one), and after the buffer's Dispose it throws <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// A pin holds a reference on the buffer's block: the block is not freed while pinned (a Dispose meanwhile frees it
/// at the last unpin), and the buffer refuses to <see cref="NativeBuffer{T}.Resize"/>. Disposing this object does
/// nothing; the buffer owns the block.
/// </remarks>
internal sealed unsafe class NativeBufferMemory<T> : MemoryManager<T> where T : unmanaged
{
    private readonly NativeBuffer<T> _buffer;

    public NativeBufferMemory(NativeBuffer<T> buffer) => _buffer = buffer;

    /// <summary>Memory over the buffer's first <paramref name="length"/> elements.</summary>
    public Memory<T> Create(int length) => CreateMemory(length);

    public override Span<T> GetSpan() => _buffer.Span;

    public override MemoryHandle Pin(int elementIndex = 0) => new(_buffer.AddPin(elementIndex), default, this);

    public override void Unpin() => _buffer.ReleasePin();

    protected override void Dispose(bool disposing)
    {
        // The buffer owns the block: only its Dispose (or finalizer) frees it.
    }
}
