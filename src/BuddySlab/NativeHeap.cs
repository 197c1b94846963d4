using System.Runtime.CompilerServices;
using BuddySlab.Os;

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
/// <para>Where the memory comes from is an <see cref="OsRegionSource"/>: the reservation, the growth policy and the
/// budget live there, and the allocator's page back end calls it to grow and to give memory back.</para>
/// <para><see cref="Dispose"/> returns every region; any use afterwards throws <see cref="ObjectDisposedException"/>.
/// <see cref="Shared"/> is a process-wide heap created on first use. Thread-safe.</para>
/// <para><b>Seeing inside.</b> <see cref="ManagedBytes"/>, <see cref="AllocatedBytes"/>, <see cref="CachedBytes"/> and
/// <see cref="ReservedBytes"/> read a few counters, <see cref="ResidentBytes"/> asks the system, and
/// <see cref="GetStatistics"/> walks everything for the whole picture. Every heap reports the same figures, tagged with
/// its <see cref="Name"/>, through the <c>System.Diagnostics.Metrics</c> meter <c>BuddySlab</c> from its creation until
/// it is disposed (docs/design.md lists the instruments); reading them records nothing on any allocation or free.</para>
/// </summary>
public sealed unsafe class NativeHeap : INativeAllocator, IDisposable
{
    private const nuint DefaultInitialBytes = 64 << 20;
    private const string SharedName = "shared";
    private static int s_unnamed;                     // heaps made without a name: their default names count them

    private readonly GlobalAllocator _allocator;
    private readonly OsRegionSource _regions;
    private readonly Lock _disposeLock = new();
    private bool _disposed;
    private bool _isShared;

    /// <summary>Creates a heap and reserves its first region.</summary>
    public NativeHeap(NativeHeapOptions? options = null)
    {
        options ??= new NativeHeapOptions();
        if (options.Name is { Length: 0 })
            throw new ArgumentException("A heap's Name cannot be empty; leave it null for a default name.", nameof(options));
        if (options.PurgeInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), options.PurgeInterval, "PurgeInterval cannot be negative.");
        int pageSize = options.PageSize == 0 ? 4096 : options.PageSize;
        _allocator = new GlobalAllocator(pageSize);
        nuint maxBytes = options.MaxBytes;
        nuint initial = options.InitialBytes == 0 ? DefaultInitialBytes : options.InitialBytes;
        if (maxBytes != 0 && initial > maxBytes)
        {
            if (options.InitialBytes != 0)
                throw new ArgumentException($"InitialBytes ({options.InitialBytes}) exceeds MaxBytes ({maxBytes}).", nameof(options));
            initial = maxBytes;
        }
        _regions = new OsRegionSource(pageSize, maxBytes);
        if (initial > _regions.MaxRequestBytes)
            throw new ArgumentOutOfRangeException(nameof(options), options.InitialBytes, $"InitialBytes ({initial}) is more than this machine's memory ({_regions.MaxRequestBytes} bytes).");
        try
        {
            if (OsRegionSource.ReservesAddressSpace)
            {
                // One reservation, used from the start up; the metadata is sized for the whole of it, and InitialBytes
                // counts the pages managed from the start.
                void* region = _regions.ReserveFirst(initial, out nuint reservation);
                if (region == null) throw new AllocatorException(AllocError.NoMemory, $"The operating system refused a region of {initial} bytes.");
                nuint firstBytes = BuddyAllocator.RequiredMetadataSize(reservation, pageSize) + initial;
                _allocator.InitReserved(region, reservation, firstBytes, options.Platform, _regions);
                // Huge pages only where the heap grows beyond its first InitialBytes: a heap that stays small keeps 4 KiB pages.
                nuint bigFrom = _allocator.GetSection(0).Start + initial, end = (nuint)region + reservation;
                if (options.HugePages && bigFrom < end) HugePages = OsMemory.AdviseHugePages(bigFrom, end - bigFrom);
            }
            else
            {
                void* region = _regions.MapFirst(initial);
                if (region == null) throw new AllocatorException(AllocError.NoMemory, $"The operating system refused the first region of {initial} bytes.");
                _allocator.Init(region, initial, options.Platform);
                _allocator.RegionSource = _regions;
            }
        }
        catch
        {
            _regions.ReleaseAll();
            throw;
        }
        _allocator.PurgeIntervalMilliseconds = (long)options.PurgeInterval.TotalMilliseconds;
        _allocator.SharedCacheBytesPerCpu = options.SharedCacheBytesPerCpu;
        _allocator.StartClock();
        Name = options.Name ?? $"heap-{Interlocked.Increment(ref s_unnamed)}";
        HeapMetrics.Register(this);
    }

    /// <summary>The heap's name: <see cref="NativeHeapOptions.Name"/>, <c>"shared"</c> for <see cref="Shared"/>, else
    /// <c>"heap-N"</c>. Its metrics carry it as their <c>heap</c> tag.</summary>
    public string Name { get; }

    /// <summary>How often the heap's purge passes run (<see cref="NativeHeapOptions.PurgeInterval"/>);
    /// <see cref="TimeSpan.Zero"/> when they are off and only <see cref="Trim"/> gives memory back.</summary>
    public TimeSpan PurgeInterval => TimeSpan.FromMilliseconds(_allocator.PurgeIntervalMilliseconds);

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

    /// <summary>Bytes that caches hold inside <see cref="AllocatedBytes"/> (see <see cref="GlobalAllocator.CachedBytes"/>):
    /// <c>AllocatedBytes - CachedBytes</c> is what is live, plus the slabs' free slots and headers.</summary>
    public nuint CachedBytes => _allocator.CachedBytes;

    /// <summary>Bytes of regions in use, metadata included (a reservation counts only as far as it is in use).</summary>
    public nuint ReservedBytes => _regions.InUseBytes;

    /// <summary>Bytes of pages the heap keeps for its own structures (see <see cref="GlobalAllocator.MetadataBytes"/>).</summary>
    public nuint MetadataBytes => _allocator.MetadataBytes;

    /// <summary>Bytes of the heap's memory resident in physical memory (see <see cref="GlobalAllocator.ResidentBytes"/>);
    /// 0 where the system cannot tell.</summary>
    public nuint ResidentBytes => _allocator.ResidentBytes;

    /// <summary>A snapshot of what the heap holds (see <see cref="GlobalAllocator.GetStatistics"/>).</summary>
    public HeapStatistics GetStatistics() => _allocator.GetStatistics();

    /// <summary>True once <see cref="Dispose"/> has begun (the metrics then leave the heap alone).</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed);

    /// <summary>Returns cached objects, empty slabs and cached page runs to the page allocator, and free pages to the OS.</summary>
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

    /// <inheritdoc cref="GlobalAllocator.Owns"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Owns(void* pointer) => _allocator.Owns(pointer);

    /// <inheritdoc cref="GlobalAllocator.TryAllocate(nuint, out void*)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocate(nuint size, out void* pointer) => _allocator.TryAllocate(size, out pointer);

    /// <inheritdoc cref="GlobalAllocator.TryFree"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFree(void* pointer, out AllocError error) => _allocator.TryFree(pointer, out error);

    /// <inheritdoc cref="GlobalAllocator.TryReallocate"/>
    public bool TryReallocate(void* pointer, nuint newSize, out void* moved, out AllocError error) =>
        _allocator.TryReallocate(pointer, newSize, out moved, out error);

    /// <inheritdoc cref="GlobalAllocator.TryUsableSize"/>
    public bool TryUsableSize(void* pointer, out nuint size, out AllocError error) => _allocator.TryUsableSize(pointer, out size, out error);

    /// <inheritdoc cref="GlobalAllocator.ReleaseThreadCache"/>
    public void ReleaseThreadCache() => _allocator.ReleaseThreadCache();

    /// <summary>Before <c>fork</c>: every lock of the heap, its region list's last (see
    /// <see cref="GlobalAllocator.LockForFork"/>).</summary>
    internal void LockForFork()
    {
        _allocator.LockForFork();
        _regions.LockForFork();
    }

    /// <summary>After <c>fork</c>, in the parent or the child (see <see cref="GlobalAllocator.UnlockAfterFork"/>).</summary>
    internal void UnlockAfterFork(bool child)
    {
        _regions.UnlockAfterFork();
        _allocator.UnlockAfterFork(child);
    }

    /// <summary>Returns every region to the operating system. Pointers from this heap become invalid.</summary>
    public void Dispose()
    {
        if (_isShared) throw new InvalidOperationException("The shared heap lives as long as the process and cannot be disposed.");
        lock (_disposeLock)
        {
            if (_disposed) return;
            _disposed = true;
            HeapMetrics.Unregister(this);
            _allocator.MarkDisposed();
            _regions.ReleaseAll();
        }
    }

    private static class SharedHeap
    {
        public static readonly NativeHeap Instance = new(new NativeHeapOptions { Name = SharedName }) { _isShared = true };
    }
}
