using System.Runtime.CompilerServices;

namespace BuddySlab;

/// <summary>
/// A ready-to-use heap: a <see cref="GlobalAllocator"/> over memory it takes from the operating system itself.
/// It starts with one region of <see cref="NativeHeapOptions.InitialBytes"/>; when a request does not fit it adds
/// a region twice the size of the last (or larger, to fit the request), until <see cref="NativeHeapOptions.MaxBytes"/>.
/// <see cref="Dispose"/> returns every region; any use afterwards throws <see cref="AllocatorException"/>
/// (<see cref="AllocError.NotInitialized"/>). <see cref="Shared"/> is a process-wide heap created on first use.
/// Thread-safe.
/// </summary>
public sealed unsafe class NativeHeap : INativeAllocator, IDisposable
{
    private const nuint DefaultInitialBytes = 64 << 20;
    private const nuint RegionGranule = 2 << 20;

    private readonly GlobalAllocator _allocator;
    private readonly Lock _growLock = new();
    private readonly List<nint> _regions = [];
    private readonly nuint _maxBytes;
    private nuint _reservedBytes;
    private nuint _nextRegionBytes;
    private bool _disposed;
    private bool _isShared;

    /// <summary>Creates a heap and reserves its first region.</summary>
    public NativeHeap(NativeHeapOptions? options = null)
    {
        options ??= new NativeHeapOptions();
        int pageSize = options.PageSize == 0 ? 4096 : options.PageSize;
        _allocator = new GlobalAllocator(pageSize);
        _maxBytes = options.MaxBytes;
        nuint initial = options.InitialBytes == 0 ? DefaultInitialBytes : options.InitialBytes;
        if (_maxBytes != 0 && initial > _maxBytes)
        {
            if (options.InitialBytes != 0)
                throw new ArgumentException($"InitialBytes ({options.InitialBytes}) exceeds MaxBytes ({_maxBytes}).", nameof(options));
            initial = _maxBytes;
        }
        void* region = OsMemory.Reserve(initial, (nuint)pageSize);
        if (region == null) throw new AllocatorException(AllocError.NoMemory, $"The operating system refused the first region of {initial} bytes.");
        try
        {
            _allocator.Init(region, initial, options.Platform);
        }
        catch
        {
            OsMemory.Release(region);
            throw;
        }
        _regions.Add((nint)region);
        _reservedBytes = initial;
        _nextRegionBytes = initial * 2;
        _allocator.Grow = TryGrow;
    }

    /// <summary>The process-wide heap, created on first use and never disposed.</summary>
    public static NativeHeap Shared => SharedHeap.Instance;

    /// <summary>The allocator behind the heap: page allocation, sections and statistics.</summary>
    public GlobalAllocator Allocator => _allocator;

    /// <summary>Bytes of managed pages in all regions.</summary>
    public nuint ManagedBytes => _allocator.ManagedBytes;

    /// <summary>Bytes of pages in use (slabs included).</summary>
    public nuint AllocatedBytes => _allocator.AllocatedBytes;

    /// <summary>Bytes of regions taken from the operating system, metadata included.</summary>
    public nuint ReservedBytes { get { lock (_growLock) return _reservedBytes; } }

    /// <summary>Returns cached empty slabs and drained remote frees to the page allocator.</summary>
    public void Trim() => _allocator.Trim();

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size) => _allocator.Allocate(size);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size, nuint alignment) => _allocator.Allocate(size, alignment);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocate(nuint size, nuint alignment, out void* pointer) => _allocator.TryAllocate(size, alignment, out pointer);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer) => _allocator.Free(pointer);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer, nuint size, nuint alignment) => _allocator.Free(pointer, size, alignment);

    /// <inheritdoc />
    public void* Reallocate(void* pointer, nuint newSize) => _allocator.Reallocate(pointer, newSize);

    /// <inheritdoc />
    public nuint UsableSize(void* pointer) => _allocator.UsableSize(pointer);

    /// <summary>Returns every region to the operating system. Pointers from this heap become invalid.</summary>
    public void Dispose()
    {
        if (_isShared) throw new InvalidOperationException("The shared heap lives as long as the process and cannot be disposed.");
        lock (_growLock)
        {
            if (_disposed) return;
            _disposed = true;
            _allocator.MarkDisposed();
            foreach (nint region in _regions) OsMemory.Release((void*)region);
            _regions.Clear();
            _reservedBytes = 0;
        }
    }

    /// <summary>Adds a region big enough for <paramref name="bytes"/> aligned to <paramref name="alignment"/>, unless
    /// another thread already added one since the caller looked (then the caller just retries).</summary>
    private bool TryGrow(nuint bytes, nuint alignment, int regionsSeen)
    {
        lock (_growLock)
        {
            if (_disposed) return false;
            if (_allocator.RegionCount != regionsSeen) return true;
            // Room for the block at its alignment wherever the section's pages happen to start, plus metadata.
            nuint block = Math.Max(RoundUpToPowerOfTwo(bytes), alignment);
            if (block == 0 || block > nuint.MaxValue / 4) return false;
            nuint needed = 2 * block;
            needed += BuddyAllocator.RequiredMetadataSize(needed, _allocator.PageSize) + (nuint)_allocator.PageSize;
            nuint size = AlignUp(Math.Max(_nextRegionBytes, needed), RegionGranule);
            if (_maxBytes != 0)
            {
                nuint room = _maxBytes > _reservedBytes ? _maxBytes - _reservedBytes : 0;
                if (room < needed) return false;
                size = Math.Min(size, room);
            }
            void* region = OsMemory.Reserve(size, (nuint)_allocator.PageSize);
            if (region == null) return false;
            try { _allocator.AddRegion(region, size); }
            catch
            {
                OsMemory.Release(region);
                throw;
            }
            _regions.Add((nint)region);
            _reservedBytes += size;
            _nextRegionBytes = size * 2;
            return true;
        }
    }

    private static nuint AlignUp(nuint value, nuint alignment) => (value + alignment - 1) & ~(alignment - 1);

    private static nuint RoundUpToPowerOfTwo(nuint value) => value <= 1 ? 1 : (nuint)1 << (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value - 1));

    private static class SharedHeap
    {
        public static readonly NativeHeap Instance = new() { _isShared = true };
    }
}
