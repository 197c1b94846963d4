using System.Runtime.CompilerServices;

namespace BuddySlab;

/// <summary>
/// A ready-to-use heap: a <see cref="GlobalAllocator"/> over memory it takes from the operating system itself.
/// <para>On Linux it reserves one large range of address space up front (an <c>mmap</c> with <c>MAP_NORESERVE</c>,
/// <see cref="NativeHeapOptions.MaxBytes"/> or 1 TiB) and uses <see cref="NativeHeapOptions.InitialBytes"/> of it at
/// first; when a request does not fit it takes twice as much more of the same range (or more, to fit the request),
/// so every block stays in one section on the fastest free path. What it grows into beyond the first
/// <see cref="NativeHeapOptions.InitialBytes"/> is advised for transparent huge pages (<see cref="NativeHeapOptions.HugePages"/>).
/// Pages cost memory only once touched, and
/// <see cref="Trim"/> gives free runs of 16 pages or more back with <c>madvise</c>. Elsewhere, or when the range is
/// used up, it adds regions twice the size of the last, and <see cref="Trim"/> gives back any added region that holds
/// nothing any more.</para>
/// <para><see cref="Dispose"/> returns every region; any use afterwards throws <see cref="AllocatorException"/>
/// (<see cref="AllocError.NotInitialized"/>). <see cref="Shared"/> is a process-wide heap created on first use.
/// Thread-safe.</para>
/// </summary>
public sealed unsafe class NativeHeap : INativeAllocator, IDisposable
{
    private const nuint DefaultInitialBytes = 64 << 20;
    private const nuint RegionGranule = 2 << 20;
    private const ulong DefaultReservation = 1ul << 40;

    private readonly GlobalAllocator _allocator;
    private readonly Lock _growLock = new();
    private readonly List<(nint Start, nuint Bytes)> _regions = [];
    private readonly nuint _maxBytes;
    private nuint _inUseBytes;            // bytes of regions in use, metadata included: what MaxBytes bounds
    private nuint _nextRegionBytes;
    private bool _disposed;
    private bool _isShared;

    /// <summary>Creates a heap and reserves its first region.</summary>
    public NativeHeap(NativeHeapOptions? options = null)
    {
        options ??= new NativeHeapOptions();
        if (options.PurgeInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), options.PurgeInterval, "PurgeInterval cannot be negative.");
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
        if (OsMemory.CanReserveAndDiscard && IntPtr.Size == 8)
        {
            // One reservation, used from the start up: try smaller ones if the OS will not map that much.
            nuint reservation = _maxBytes != 0 ? _maxBytes : unchecked((nuint)DefaultReservation);
            void* region = OsMemory.Reserve(reservation, (nuint)pageSize);
            while (region == null && reservation / 2 >= initial)
            {
                reservation /= 2;
                region = OsMemory.Reserve(reservation, (nuint)pageSize);
            }
            if (region == null) throw new AllocatorException(AllocError.NoMemory, $"The operating system refused a region of {initial} bytes.");
            // The metadata is sized for the whole reservation; InitialBytes counts the pages managed from the start.
            nuint firstBytes = BuddyAllocator.RequiredMetadataSize(reservation, pageSize) + initial;
            Start(region, reservation, () => _allocator.InitReserved(region, reservation, firstBytes, options.Platform));
            _allocator.Discard = OsMemory.Discard;
            _allocator.PurgeLazily = OsMemory.DiscardLazily;
            // Huge pages only where the heap grows beyond its first InitialBytes: a heap that stays small keeps 4 KiB pages.
            nuint bigFrom = _allocator.GetSection(0).Start + initial, end = (nuint)region + reservation;
            if (options.HugePages && bigFrom < end) HugePages = OsMemory.AdviseHugePages(bigFrom, end - bigFrom);
        }
        else
        {
            void* region = OsMemory.Reserve(initial, (nuint)pageSize);
            if (region == null) throw new AllocatorException(AllocError.NoMemory, $"The operating system refused the first region of {initial} bytes.");
            Start(region, initial, () => _allocator.Init(region, initial, options.Platform));
        }
        _inUseBytes = initial;
        _nextRegionBytes = initial * 2;
        _allocator.PurgeIntervalMilliseconds = (long)options.PurgeInterval.TotalMilliseconds;
        _allocator.Grow = TryGrow;
        _allocator.ReleaseRegion = ReleaseRegion;
    }

    private void Start(void* region, nuint bytes, Action init)
    {
        try
        {
            init();
        }
        catch
        {
            OsMemory.Release(region, bytes);
            throw;
        }
        _regions.Add(((nint)region, bytes));
    }

    /// <summary>The process-wide heap, created on first use and never disposed.</summary>
    public static NativeHeap Shared => SharedHeap.Instance;

    /// <summary>True when the OS accepted the advice to back the memory the heap grows into beyond its first
    /// <see cref="NativeHeapOptions.InitialBytes"/> with transparent huge pages (see <see cref="NativeHeapOptions.HugePages"/>).</summary>
    public bool HugePages { get; }

    /// <summary>The allocator behind the heap: page allocation, sections and statistics.</summary>
    public GlobalAllocator Allocator => _allocator;

    /// <summary>The calling thread's handle on this heap: the same heap without a thread-static lookup per call
    /// (see <see cref="ThreadHeap"/>). Keep it in a local or a per-thread object; only this thread may use it.</summary>
    public ThreadHeap ForCurrentThread() => _allocator.ForCurrentThread();

    /// <summary>Bytes of managed pages in all regions.</summary>
    public nuint ManagedBytes => _allocator.ManagedBytes;

    /// <summary>Bytes of pages in use (slabs included).</summary>
    public nuint AllocatedBytes => _allocator.AllocatedBytes;

    /// <summary>Bytes of regions in use, metadata included (a reservation counts only as far as it is in use).</summary>
    public nuint ReservedBytes { get { lock (_growLock) return _inUseBytes; } }

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
            foreach (var (start, bytes) in _regions) OsMemory.Release((void*)start, bytes);
            _regions.Clear();
            _inUseBytes = 0;
        }
    }

    /// <summary>Makes room for <paramref name="bytes"/> aligned to <paramref name="alignment"/>: more of the reservation, or
    /// a new region. When another thread grew the heap since the caller looked, the caller just retries.</summary>
    private bool TryGrow(nuint bytes, nuint alignment, int growthsSeen)
    {
        lock (_growLock)
        {
            if (_disposed) return false;
            if (_allocator.GrowthCount != growthsSeen) return true;
            // Room for the block at its alignment wherever the new pages happen to start.
            nuint block = Math.Max(RoundUpToPowerOfTwo(bytes), alignment);
            if (block == 0 || block > nuint.MaxValue / 4) return false;
            nuint room = _maxBytes == 0 ? nuint.MaxValue : _maxBytes > _inUseBytes ? _maxBytes - _inUseBytes : 0;

            if (_allocator.ReservedBytesLeft != 0)
            {
                nuint more = Math.Min(Math.Min(Math.Max(_nextRegionBytes, 2 * block), room), _allocator.ReservedBytesLeft);
                nuint added = _allocator.GrowInPlace(more);
                if (added != 0)
                {
                    _inUseBytes += added;
                    _nextRegionBytes = Math.Max(_nextRegionBytes, added) * 2;
                    return true;
                }
            }

            nuint needed = 2 * block;
            needed += BuddyAllocator.RequiredMetadataSize(needed, _allocator.PageSize) + (nuint)_allocator.PageSize;
            if (room < needed) return false;
            nuint size = Math.Min(AlignUp(Math.Max(_nextRegionBytes, needed), RegionGranule), room);
            void* region = OsMemory.Reserve(size, (nuint)_allocator.PageSize);
            if (region == null) return false;
            Start(region, size, () => _allocator.AddRegion(region, size));
            _inUseBytes += size;
            _nextRegionBytes = size * 2;
            return true;
        }
    }

    /// <summary>Gives an added region that became entirely free back to the operating system (from <see cref="Trim"/>).</summary>
    private void ReleaseRegion(nuint start, nuint bytes)
    {
        lock (_growLock)
        {
            int index = _regions.FindIndex(r => (nuint)r.Start == start);
            if (index <= 0) return;                                  // unknown, or the first region: kept
            OsMemory.Release((void*)start, _regions[index].Bytes);
            _inUseBytes -= _regions[index].Bytes;
            _regions.RemoveAt(index);
        }
    }

    private static nuint AlignUp(nuint value, nuint alignment) => (value + alignment - 1) & ~(alignment - 1);

    private static nuint RoundUpToPowerOfTwo(nuint value) => value <= 1 ? 1 : (nuint)1 << (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value - 1));

    private static class SharedHeap
    {
        public static readonly NativeHeap Instance = new() { _isShared = true };
    }
}
