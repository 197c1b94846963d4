using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Buffers;

/// <summary>
/// An <see cref="INativeAllocator"/> over another one that records every live block and checks every free: a free of
/// anything it did not hand out, or a sized free whose size or alignment is not the block's own, throws
/// <see cref="AllocatorException"/>. It can poison new blocks, hand default-aligned blocks out at an odd multiple of
/// 16 (so a client that needs more than the default alignment must ask for it), and play disposed
/// (every call throws <see cref="ObjectDisposedException"/>). Thread-safe.
/// </summary>
internal sealed unsafe class CountingAllocator : INativeAllocator
{
    private readonly INativeAllocator _inner;
    private readonly ConcurrentDictionary<nint, Block> _live = new();
    private long _allocations;
    private long _frees;
    private long _refusedFrees;
    private long _liveBytes;

    public CountingAllocator(INativeAllocator inner) => _inner = inner;

    /// <summary>A byte every new block is filled with; null leaves blocks as the inner allocator gives them.</summary>
    public byte? Poison { get; init; }

    /// <summary>Default-aligned blocks of 16 bytes or more start 16 bytes past a 32-byte boundary.</summary>
    public bool SkewDefaultAlignment { get; init; }

    /// <summary>When set, every call throws <see cref="ObjectDisposedException"/> (frees are counted in <see cref="RefusedFrees"/>).</summary>
    public bool Disposed { get; set; }

    public long Allocations => Interlocked.Read(ref _allocations);

    public long Frees => Interlocked.Read(ref _frees);

    public long RefusedFrees => Interlocked.Read(ref _refusedFrees);

    public int LiveCount => _live.Count;

    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>The size and alignment a live block was allocated with.</summary>
    public (nuint Size, nuint Alignment) Describe(void* pointer) =>
        _live.TryGetValue((nint)pointer, out Block b) ? (b.Size, b.Alignment) : throw new InvalidOperationException("Not a live block.");

    public void* Allocate(nuint size)
    {
        ThrowIfDisposed();
        nuint alignment = size >= 16 ? 16u : 8u;
        void* inner, pointer;
        if (SkewDefaultAlignment && size >= 16)
        {
            inner = _inner.Allocate(size + 16, 32);
            pointer = (byte*)inner + 16;
        }
        else
        {
            inner = pointer = _inner.Allocate(size);
        }
        return Record(pointer, inner, size, alignment);
    }

    public void* Allocate(nuint size, nuint alignment)
    {
        ThrowIfDisposed();
        void* pointer = _inner.Allocate(size, alignment);
        return Record(pointer, pointer, size, alignment);
    }

    public bool TryAllocate(nuint size, nuint alignment, out void* pointer)
    {
        ThrowIfDisposed();
        if (!_inner.TryAllocate(size, alignment, out pointer)) return false;
        Record(pointer, pointer, size, alignment);
        return true;
    }

    public void Free(void* pointer)
    {
        CountRefusedIfDisposed();
        Block block = Take(pointer, null, null);
        _inner.Free((void*)block.Inner);
    }

    public void Free(void* pointer, nuint size, nuint alignment)
    {
        CountRefusedIfDisposed();
        Block block = Take(pointer, size, alignment);
        _inner.Free((void*)block.Inner);
    }

    public void* Reallocate(void* pointer, nuint newSize)
    {
        ThrowIfDisposed();
        if (pointer == null) return Allocate(newSize);
        if (!_live.TryGetValue((nint)pointer, out Block old)) throw new AllocatorException(AllocError.NotAllocated, "Reallocate of a block not live here.");
        void* moved = Allocate(newSize);
        Buffer.MemoryCopy(pointer, moved, newSize, Math.Min(old.Size, newSize));
        Free(pointer);
        return moved;
    }

    public nuint UsableSize(void* pointer)
    {
        ThrowIfDisposed();
        return _live.TryGetValue((nint)pointer, out Block b) ? b.Size : throw new AllocatorException(AllocError.NotAllocated, "Not a live block.");
    }

    private void* Record(void* pointer, void* inner, nuint size, nuint alignment)
    {
        if (Poison is byte poison) NativeMemory.Fill(pointer, size, poison);
        if (!_live.TryAdd((nint)pointer, new Block((nint)inner, size, alignment)))
            throw new InvalidOperationException($"The inner allocator handed out live block 0x{(nint)pointer:x} twice.");
        Interlocked.Increment(ref _allocations);
        Interlocked.Add(ref _liveBytes, (long)size);
        return pointer;
    }

    private Block Take(void* pointer, nuint? size, nuint? alignment)
    {
        if (!_live.TryGetValue((nint)pointer, out Block block))
            throw new AllocatorException(AllocError.NotAllocated, $"Free of 0x{(nint)pointer:x}, which is not a live block.");
        if (size is not null && (size != block.Size || alignment != block.Alignment))
            throw new AllocatorException(AllocError.NotAllocated,
                $"Sized free of 0x{(nint)pointer:x} with {size}/{alignment}; it was allocated with {block.Size}/{block.Alignment}.");
        if (!_live.TryRemove((nint)pointer, out _))
            throw new AllocatorException(AllocError.NotAllocated, $"0x{(nint)pointer:x} was freed twice at once.");
        Interlocked.Increment(ref _frees);
        Interlocked.Add(ref _liveBytes, -(long)block.Size);
        return block;
    }

    private void ThrowIfDisposed()
    {
        if (Disposed) throw new ObjectDisposedException(nameof(CountingAllocator));
    }

    private void CountRefusedIfDisposed()
    {
        if (!Disposed) return;
        Interlocked.Increment(ref _refusedFrees);
        throw new ObjectDisposedException(nameof(CountingAllocator));
    }

    private readonly record struct Block(nint Inner, nuint Size, nuint Alignment);
}
