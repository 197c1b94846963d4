namespace BuddySlab.Caches;

/// <summary>
/// The one memory budget of the caches every thread shares: the CPU depots' and the shared depot's full magazines and
/// the CPUs' page-run caches. A cache asks <see cref="TryHold"/> before it keeps something and calls
/// <see cref="Release"/> when it hands it out or gives it back; what it may not keep goes one layer down (objects to
/// their slabs, runs to the buddy). The limit is a fixed amount per CPU plus a fraction of what was live at the last
/// purge pass (<see cref="Adjust"/>), so the caches grow with a program's live set and shrink after it, and purge passes
/// flush what they held unused for an interval. Threads' own caches are outside it, bounded per thread.
/// <para><b>Invariants.</b> <see cref="HeldBytes"/> is the sum of what the caches hold (updated atomically, never
/// negative). A hold that would pass the limit is refused; two racing holds may pass it by at most one of them.</para>
/// </summary>
internal sealed class CacheBudget
{
    /// <summary>Bytes the shared caches may hold per CPU whatever is live.</summary>
    public const long FixedBytesPerCpu = 2 << 20;

    /// <summary>The share of the live bytes the shared caches may hold on top: one part in this many.</summary>
    public const int LiveDivisor = 4;

    private readonly int _cpus;
    private long _fixedBytes;
    private long _held;
    private long _limit;

    public CacheBudget(int cpus)
    {
        _cpus = Math.Max(1, cpus);
        _fixedBytes = FixedBytesPerCpu * _cpus;
        _limit = _fixedBytes;
    }

    /// <summary>The fixed part of the limit, per CPU (<see cref="FixedBytesPerCpu"/> unless set); a new value takes effect
    /// at once for new holds, and what the caches hold above it goes down at the next purge pass or trim.</summary>
    public long BytesPerCpu
    {
        get => Volatile.Read(ref _fixedBytes) / _cpus;
        set
        {
            long live = Math.Max(0, Volatile.Read(ref _limit) - Volatile.Read(ref _fixedBytes));
            Volatile.Write(ref _fixedBytes, value * _cpus);
            Volatile.Write(ref _limit, value * _cpus + live);
        }
    }

    /// <summary>Bytes the shared caches hold now.</summary>
    public long HeldBytes => Volatile.Read(ref _held);

    /// <summary>Bytes they may hold at most until the next <see cref="Adjust"/>.</summary>
    public long LimitBytes => Volatile.Read(ref _limit);

    /// <summary>Counts <paramref name="bytes"/> as held, or answers false (nothing counted) when that would pass the limit.</summary>
    public bool TryHold(long bytes)
    {
        if (Volatile.Read(ref _held) + bytes > Volatile.Read(ref _limit)) return false;
        Interlocked.Add(ref _held, bytes);
        return true;
    }

    /// <summary>Counts <paramref name="bytes"/> as held whatever the limit (something a cache had and takes back).</summary>
    public void Hold(long bytes) => Interlocked.Add(ref _held, bytes);

    /// <summary>Stops counting <paramref name="bytes"/> the caches handed out or gave back.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);

    /// <summary>Sets the limit from the bytes in use now (<paramref name="allocatedBytes"/>, which include what the caches
    /// hold): the fixed part plus a share of the rest.</summary>
    public void Adjust(long allocatedBytes)
    {
        long live = Math.Max(0, allocatedBytes - HeldBytes);
        Volatile.Write(ref _limit, Volatile.Read(ref _fixedBytes) + live / LiveDivisor);
    }
}
