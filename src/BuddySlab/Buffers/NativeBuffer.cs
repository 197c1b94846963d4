using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Buffers;

namespace BuddySlab;

/// <summary>
/// A typed array in native memory: <see cref="Length"/> values of <typeparamref name="T"/> in one block from an
/// <see cref="INativeAllocator"/>, reachable as a <see cref="Span"/>, a <see cref="Memory"/>, by index or by
/// <see cref="Pointer"/>. The block never moves except in <see cref="Resize"/>, and the garbage collector never scans it.
/// </summary>
/// <remarks>
/// <para>The block is aligned for <typeparamref name="T"/>, and to at least 16 bytes when it is 16 bytes or more. It
/// is zeroed when created with <c>clear</c> (the default), and so is the part a <see cref="Resize"/> adds.</para>
/// <para><see cref="Dispose"/> frees the block; from then on <see cref="Span"/>, <see cref="Memory"/>, the indexer,
/// <see cref="Pointer"/> and <see cref="Resize"/> throw <see cref="ObjectDisposedException"/>, as does the span of any
/// <see cref="Memory{T}"/> taken before, and <see cref="Length"/> is 0. A buffer that is never disposed is freed by
/// the finalizer once it is unreachable (the <see cref="SafeHandle"/> convention); keep the buffer reachable (or use
/// <see cref="GC.KeepAlive"/>) for as long as a span or pointer taken from it is in use, and dispose it rather than
/// leaving it to the finalizer. A free the allocator refuses from there (it was disposed first) is ignored.</para>
/// <para>A pin (<see cref="Memory{T}.Pin"/>, as asynchronous I/O takes) holds the block: <see cref="Resize"/> refuses
/// while any is held, and a <see cref="Dispose"/> meanwhile frees the block at the last unpin.</para>
/// <para>Reads and writes through spans are as thread-safe as for an array; <see cref="Resize"/> and
/// <see cref="Dispose"/> must not race with other use of the buffer.</para>
/// </remarks>
/// <typeparam name="T">The element type; any unmanaged type.</typeparam>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    // Invariants: until Dispose, _pointer is the handle's block and _length * sizeof(T) its byte size; after it,
    // _pointer is null and _length 0 (the handle frees the block now, or at the last unpin). _pins counts pins
    // out; each also holds a reference on the handle.
    private readonly INativeAllocator _allocator;
    private readonly NativeBlockHandle _handle;
    private readonly bool _clear;
    private T* _pointer;
    private int _length;
    private int _pins;
    private NativeBufferMemory<T>? _memory;

    // Both constructors take an optional "clear": the shapes are fixed by the published contract.
#pragma warning disable RS0026
    /// <summary>Creates a buffer of <paramref name="length"/> elements over <see cref="NativeHeap.Shared"/>, zeroed when <paramref name="clear"/>.</summary>
    public NativeBuffer(int length, bool clear = true) : this(length, NativeHeap.Shared, clear)
    {
    }

    /// <summary>Creates a buffer of <paramref name="length"/> elements over <paramref name="allocator"/>, zeroed when <paramref name="clear"/>.</summary>
    /// <param name="length">Elements, 0 or more.</param>
    /// <param name="allocator">Where the block comes from and goes back to; the buffer does not dispose it.</param>
    /// <param name="clear">Whether to zero the block, and the part any <see cref="Resize"/> adds.</param>
    public NativeBuffer(int length, INativeAllocator allocator, bool clear = true)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "A buffer's length cannot be negative.");
        ArgumentNullException.ThrowIfNull(allocator);
        nuint bytes = ByteCount(length, nameof(length));
        nuint alignment = BufferAlignment.For<T>(bytes);
        _allocator = allocator;
        _clear = clear;
        _handle = new NativeBlockHandle(allocator);
        void* block;
        try
        {
            block = Allocate(bytes, alignment);
        }
        catch
        {
            _handle.SetHandleAsInvalid();
            throw;
        }
        _handle.Attach(block, bytes, alignment);
        if (clear) NativeMemory.Clear(block, bytes);
        _pointer = (T*)block;
        _length = length;
    }
#pragma warning restore RS0026

    /// <summary>The number of elements; 0 after <see cref="Dispose"/>.</summary>
    public int Length => _length;

    /// <summary>All the elements.</summary>
    public Span<T> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            T* pointer = _pointer;
            if (pointer == null) ThrowDisposed();
            return new Span<T>(pointer, _length);
        }
    }

    /// <summary>All the elements, as memory that can be stored and handed to asynchronous calls. Its span is always
    /// taken from the buffer as it is then: after <see cref="Dispose"/> it throws.</summary>
    public Memory<T> Memory
    {
        get
        {
            if (_pointer == null) ThrowDisposed();
            NativeBufferMemory<T> memory = _memory ?? CreateMemoryManager();
            return memory.Create(_length);
        }
    }

    /// <summary>The element at <paramref name="index"/>; an index outside 0..<see cref="Length"/>-1 throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)_length) ThrowBadIndex(index);
            return ref _pointer[index];
        }
    }

    /// <summary>The address of the first element. Valid until <see cref="Resize"/> or <see cref="Dispose"/>.</summary>
    public T* Pointer
    {
        get
        {
            T* pointer = _pointer;
            if (pointer == null) ThrowDisposed();
            return pointer;
        }
    }

    /// <summary>Makes the buffer <paramref name="newLength"/> elements long, keeping the first min(old, new) of them
    /// (in place when the allocator can, else in a new block); the added part is zeroed when the buffer was created
    /// with <c>clear</c>. Spans and pointers taken before are invalid afterwards. Throws
    /// <see cref="InvalidOperationException"/> while the buffer is pinned; on any failure the buffer is unchanged.</summary>
    public void Resize(int newLength)
    {
        if (_pointer == null) ThrowDisposed();
        if (newLength < 0) BufferThrow.OutOfRange(nameof(newLength), newLength, "A buffer's length cannot be negative.");
        if (Volatile.Read(ref _pins) != 0)
            BufferThrow.InvalidOperation($"The buffer is pinned ({Volatile.Read(ref _pins)} pins): it cannot move until they are released.");
        if (newLength == _length) return;
        nuint oldBytes = _handle.Bytes, oldAlignment = _handle.Alignment;
        nuint newBytes = ByteCount(newLength, nameof(newLength));
        nuint newAlignment = BufferAlignment.For<T>(newBytes);
        void* old = _handle.Block;
        void* block;
        if (newAlignment == INativeAllocator.DefaultAlignment(newBytes) && oldAlignment == INativeAllocator.DefaultAlignment(oldBytes))
        {
            // Default alignment both ways: the allocator's own resize, in place when it can.
            block = _allocator.Reallocate(old, newBytes);
            _handle.Attach(block, newBytes, newAlignment);
        }
        else
        {
            block = Allocate(newBytes, newAlignment);
            Buffer.MemoryCopy(old, block, newBytes, Math.Min(oldBytes, newBytes));
            _handle.Attach(block, newBytes, newAlignment);
            _allocator.Free(old, oldBytes, oldAlignment);
        }
        if (_clear && newBytes > oldBytes) NativeMemory.Clear((byte*)block + oldBytes, newBytes - oldBytes);
        _pointer = (T*)block;
        _length = newLength;
    }

    /// <summary>Frees the block (at the last unpin, if pinned). A second Dispose does nothing.</summary>
    public void Dispose()
    {
        if (_pointer == null) return;
        _pointer = null;
        _length = 0;
        _handle.Dispose();
    }

    /// <summary>Pins the block for <see cref="NativeBufferMemory{T}"/>: the address of element <paramref name="elementIndex"/>.</summary>
    internal T* AddPin(int elementIndex)
    {
        if (_pointer == null) ThrowDisposed();
        if ((uint)elementIndex > (uint)_length)
            BufferThrow.OutOfRange(nameof(elementIndex), elementIndex, $"The element to pin must be within the buffer's {_length} elements.");
        bool added = false;
        _handle.DangerousAddRef(ref added);             // throws ObjectDisposedException once the handle is closed
        Interlocked.Increment(ref _pins);
        T* pointer = _pointer;
        if (pointer == null)
        {
            ReleasePin();
            ThrowDisposed();
        }
        return pointer + elementIndex;
    }

    /// <summary>Releases one pin taken with <see cref="AddPin"/>; the last one after a Dispose frees the block.</summary>
    internal void ReleasePin()
    {
        Interlocked.Decrement(ref _pins);
        _handle.DangerousRelease();
    }

    private void* Allocate(nuint bytes, nuint alignment) =>
        alignment == INativeAllocator.DefaultAlignment(bytes) ? _allocator.Allocate(bytes) : _allocator.Allocate(bytes, alignment);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private NativeBufferMemory<T> CreateMemoryManager()
    {
        var memory = new NativeBufferMemory<T>(this);
        return Interlocked.CompareExchange(ref _memory, memory, null) ?? memory;
    }

    private static nuint ByteCount(int length, string paramName)
    {
        ulong bytes = (ulong)length * (ulong)sizeof(T);
        if (bytes > nuint.MaxValue)
            BufferThrow.OutOfRange(paramName, length, $"{length} elements of {sizeof(T)} bytes do not fit the address space.");
        return (nuint)bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadIndex(int index)
    {
        if (_pointer == null) ThrowDisposed();
        BufferThrow.OutOfRange(nameof(index), index, $"The index must be between 0 and the buffer's length ({_length}) less 1.");
    }

    private static void ThrowDisposed() =>
        BufferThrow.Disposed(typeof(NativeBuffer<T>).Name, "The NativeBuffer was disposed: its native memory is freed.");
}
