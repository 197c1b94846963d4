using System.Numerics;

namespace BuddySlab.Os;

/// <summary>
/// The operating system as a <see cref="IRegionSource"/>, with a native heap's growth policy: one large
/// reservation used from the bottom up where the system can reserve address space (Linux), else regions twice the
/// size of the last; never more than <see cref="MaxBytes"/> of regions in use (metadata included).
/// <para><b>Invariants.</b> <see cref="InUseBytes"/> is the bytes of the reservation in use plus the bytes of every
/// added region; every region in <c>_regions</c> is mapped and is returned by <see cref="ReleaseAll"/>. Thread-safe:
/// every member takes the source's lock.</para>
/// </summary>
internal sealed unsafe class OsRegionSource : IRegionSource
{
    private const nuint RegionGranule = 2 << 20;
    private const ulong DefaultReservation = 1ul << 40;

    private readonly Lock _lock = new();
    private readonly List<(nint Start, nuint Bytes)> _regions = [];   // the reservation (or first region) first
    private readonly nuint _pageSize;
    private nuint _inUseBytes;
    private nuint _nextGrowth;

    /// <summary>A source for pages of <paramref name="pageSize"/> bytes under a budget of <paramref name="maxBytes"/>
    /// (0: none).</summary>
    public OsRegionSource(int pageSize, nuint maxBytes)
    {
        _pageSize = (nuint)pageSize;
        MaxBytes = maxBytes;
        long machine = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;      // physical memory, or the container's limit
        nuint limit = machine > 0 && (ulong)machine < nuint.MaxValue ? (nuint)machine : nuint.MaxValue;
        MaxRequestBytes = maxBytes != 0 ? Math.Min(maxBytes, limit) : limit;
    }

    /// <inheritdoc />
    public nuint MaxRequestBytes { get; }

    /// <inheritdoc />
    public bool MapsZeroedRegions => OsMemory.CanReserveAndDiscard;

    /// <summary>The most bytes of regions in use at once; 0 means no limit.</summary>
    public nuint MaxBytes { get; }

    /// <summary>Bytes of regions in use, metadata included (a reservation counts only as far as it is used).</summary>
    public nuint InUseBytes { get { lock (_lock) return _inUseBytes; } }

    /// <summary>True where the first region can be a large reservation used from the bottom up.</summary>
    public static bool ReservesAddressSpace => OsMemory.CanReserveAndDiscard && IntPtr.Size == 8;

    /// <summary>Reserves the first region: <see cref="MaxBytes"/> of address space, or 1 TiB, halved while the system
    /// refuses but never below <paramref name="initialBytes"/>; of it <paramref name="initialBytes"/> count as in use.
    /// Null when the system refuses even that.</summary>
    public void* ReserveFirst(nuint initialBytes, out nuint reservation)
    {
        reservation = MaxBytes != 0 ? MaxBytes : unchecked((nuint)DefaultReservation);
        void* region = OsMemory.Reserve(reservation, _pageSize);
        while (region == null && reservation / 2 >= initialBytes)
        {
            reservation /= 2;
            region = OsMemory.Reserve(reservation, _pageSize);
        }
        if (region != null) Record(region, reservation, initialBytes);
        return region;
    }

    /// <summary>Maps a first region of <paramref name="bytes"/> bytes, all of it in use; null when the system refuses.</summary>
    public void* MapFirst(nuint bytes)
    {
        void* region = OsMemory.Reserve(bytes, _pageSize);
        if (region != null) Record(region, bytes, bytes);
        return region;
    }

    private void Record(void* region, nuint mapped, nuint inUse)
    {
        lock (_lock)
        {
            _regions.Add(((nint)region, mapped));
            _inUseBytes += inUse;
            _nextGrowth = inUse * 2;
        }
    }

    /// <inheritdoc />
    public nuint InPlaceGrowth(nuint block, nuint reservedLeft)
    {
        lock (_lock) return Math.Min(Math.Min(Math.Max(_nextGrowth, 2 * block), Room), reservedLeft);
    }

    /// <inheritdoc />
    public void Committed(nuint bytes)
    {
        lock (_lock)
        {
            _inUseBytes += bytes;
            _nextGrowth = Math.Max(_nextGrowth, bytes) * 2;
        }
    }

    /// <inheritdoc />
    public bool TryMapRegion(nuint needed, out void* region, out nuint bytes)
    {
        lock (_lock)
        {
            region = null;
            bytes = 0;
            nuint room = Room;
            if (room < needed) return false;
            nuint size = Math.Min(AlignUp(Math.Max(_nextGrowth, needed), RegionGranule), room);
            region = OsMemory.Reserve(size, _pageSize);
            if (region == null) return false;
            _regions.Add(((nint)region, size));
            _inUseBytes += size;
            _nextGrowth = size * 2;
            bytes = size;
            return true;
        }
    }

    /// <inheritdoc />
    public void Discard(nuint address, nuint bytes) => OsMemory.Discard(address, bytes);

    /// <inheritdoc />
    public void ReleaseRegion(nuint start, nuint bytes)
    {
        lock (_lock)
        {
            int index = _regions.FindIndex(r => (nuint)r.Start == start);
            if (index <= 0) return;                                  // unknown, or the first region: kept
            OsMemory.Release((void*)start, _regions[index].Bytes);
            _inUseBytes -= _regions[index].Bytes;
            _regions.RemoveAt(index);
        }
    }

    /// <summary>Before <c>fork</c>: takes the source's lock.</summary>
    public void LockForFork() => _lock.Enter();

    /// <summary>After <c>fork</c>: lets go of it.</summary>
    public void UnlockAfterFork() => _lock.Exit();

    /// <summary>Returns every region to the system (on dispose).</summary>
    public void ReleaseAll()
    {
        lock (_lock)
        {
            foreach (var (start, bytes) in _regions) OsMemory.Release((void*)start, bytes);
            _regions.Clear();
            _inUseBytes = 0;
        }
    }

    /// <summary>Bytes the budget still allows (under the lock).</summary>
    private nuint Room => MaxBytes == 0 ? nuint.MaxValue : MaxBytes > _inUseBytes ? MaxBytes - _inUseBytes : 0;

    private static nuint AlignUp(nuint value, nuint alignment) => (value + alignment - 1) & ~(alignment - 1);
}
