using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using BuddySlab.Buffers;

namespace BuddySlab;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of native memory: each <see cref="Rent"/> takes one block from an
/// <see cref="INativeAllocator"/>, and disposing the owner it returns gives that block back.
/// </summary>
/// <remarks>
/// <para>The pool keeps no blocks of its own: the allocator's caches do that job, so a pool holds nothing between
/// rents and needs no trimming. <see cref="IMemoryOwner{T}.Memory"/> is exactly as long as requested (<see cref="DefaultBufferSize"/>
/// for -1); blocks of 16 bytes or more are 16-byte aligned.</para>
/// <para>Blocks of more than <see cref="MinRoundedLength"/> and at most <see cref="MaxRoundedLength"/> bytes are taken
/// at the next power of two (<see cref="BlockBytes"/>), as <see cref="ArrayPool{T}"/>'s buckets are, unless
/// <see cref="RoundBlockSizes"/> is off: the memory an owner gives stays exactly as long as asked. Such blocks are whole
/// page runs, which the heap caches by length; rents of every length up to 64 KiB (a pipe's segments) kept a stock of
/// each of 16 lengths, where five lengths let every freed block serve the next rent of its bucket. Pages of a block that
/// nothing writes are never touched, and longer blocks are taken exactly (the heap serves them straight from its buddy,
/// which keeps no stock per length).</para>
/// <para>Every rent makes a new owner object, used once: after its first Dispose it answers
/// <see cref="ObjectDisposedException"/> for <c>Memory</c>, for the span of any <see cref="Memory{T}"/> taken from it, and
/// for <c>Pin</c>, and a second Dispose does nothing, so a stale reference can never free a block that a later rent
/// now holds. Owners are <see cref="MemoryManager{T}"/>s over the native address: <c>Pin</c> takes no
/// <see cref="System.Runtime.InteropServices.GCHandle"/>, and <see cref="System.Runtime.InteropServices.MemoryMarshal.TryGetArray{T}"/>
/// answers <see langword="false"/>.</para>
/// <para>An owner that is never disposed keeps its block until the allocator itself goes away (owners have no
/// finalizer); <see cref="RentedCount"/> and <see cref="RentedBytes"/> count it, exactly, so a leak shows there.</para>
/// <para>Thread-safe: rent and dispose owners from any thread. After the pool's own Dispose, <see cref="Rent"/>
/// throws <see cref="ObjectDisposedException"/>; owners already out stay valid until they are disposed.</para>
/// <para>From its creation until its Dispose, the pool reports <see cref="RentedCount"/> and <see cref="RentedBytes"/>
/// through the <c>BuddySlab</c> meter (<c>buddyslab.pool.rented</c>, <c>buddyslab.pool.rented_bytes</c>), tagged
/// <c>pool</c> = <see cref="Name"/>; reading them takes no lock and records nothing on a rent or a return.</para>
/// <para>The two counts are kept per CPU and summed when read, so threads renting and returning on different CPUs do
/// not contend for one cache line; they are exact whenever no rent or return is under way.</para>
/// </remarks>
public sealed unsafe class NativeMemoryPool : MemoryPool<byte>, IMeteredPool
{
    private static int s_pools;                       // pools made so far: default names count them

    private readonly INativeAllocator _allocator;
    private readonly int _defaultBufferSize;
    private readonly int _maxBufferSize;
    private readonly RentalCounters _rented = new();
    private volatile bool _disposed;
    private readonly string _name = $"pool-{Interlocked.Increment(ref s_pools)}";

    /// <summary>Creates a pool over <see cref="NativeHeap.Shared"/> with 4 KiB default and 1 GiB largest buffers.</summary>
    public NativeMemoryPool() : this(NativeHeap.Shared)
    {
    }

    /// <summary>Creates a pool over <paramref name="allocator"/>.</summary>
    /// <param name="allocator">Where blocks come from and go back to; the pool does not dispose it.</param>
    /// <param name="defaultBufferSize">The length <c>Rent(-1)</c> gives: 1 to <paramref name="maxBufferSize"/>.</param>
    /// <param name="maxBufferSize">The largest length <see cref="Rent"/> accepts: at least 1.</param>
    public NativeMemoryPool(INativeAllocator allocator, int defaultBufferSize = 4096, int maxBufferSize = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        if (maxBufferSize < 1)
            throw new ArgumentOutOfRangeException(nameof(maxBufferSize), maxBufferSize, "The largest buffer must be at least 1 byte.");
        if (defaultBufferSize < 1 || defaultBufferSize > maxBufferSize)
            throw new ArgumentOutOfRangeException(nameof(defaultBufferSize), defaultBufferSize,
                $"The default buffer size must be between 1 and the largest buffer size ({maxBufferSize}).");
        _allocator = allocator;
        _defaultBufferSize = defaultBufferSize;
        _maxBufferSize = maxBufferSize;
        HeapMetrics.Register(this);
    }

    /// <summary>The pool's name, the <c>pool</c> tag of its metrics: <c>"pool-N"</c> unless set, where N numbers the pools
    /// this process made. Must not be empty.</summary>
    public string Name
    {
        get => _name;
        init
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            _name = value;
        }
    }

    /// <summary>Rents of more than this many bytes may take a block rounded up (see <see cref="RoundBlockSizes"/>).</summary>
    public const int MinRoundedLength = 2048;

    /// <summary>Rents of more than this many bytes take a block of exactly their length.</summary>
    public const int MaxRoundedLength = 64 * 1024;

    /// <summary>Whether a rent of more than <see cref="MinRoundedLength"/> and at most <see cref="MaxRoundedLength"/> bytes
    /// takes a block of the next power of two (on by default). Off, every block is exactly as long as its rent: for a
    /// program that keeps many such buffers live at once and never writes their whole length.</summary>
    public bool RoundBlockSizes { get; init; } = true;

    /// <summary>The bytes of the block a rent of <paramref name="length"/> bytes takes from the allocator.</summary>
    public nuint BlockBytes(int length) =>
        RoundBlockSizes && length > MinRoundedLength && length <= MaxRoundedLength
            ? BitOperations.RoundUpToPowerOf2((uint)length)
            : (nuint)(uint)length;

    /// <summary>The largest length <see cref="Rent"/> accepts.</summary>
    public override int MaxBufferSize => _maxBufferSize;

    /// <summary>The length <c>Rent(-1)</c> gives.</summary>
    public int DefaultBufferSize => _defaultBufferSize;

    /// <summary>Owners rented and not yet disposed.</summary>
    public int RentedCount => _rented.Count;

    /// <summary>The lengths of the <see cref="RentedCount"/> owners' memory, summed.</summary>
    public long RentedBytes => _rented.Bytes;

    /// <summary>Rents a block of exactly <paramref name="minBufferSize"/> bytes (<see cref="DefaultBufferSize"/> for -1).
    /// Throws <see cref="ArgumentOutOfRangeException"/> below -1 or above <see cref="MaxBufferSize"/>,
    /// <see cref="ObjectDisposedException"/> after the pool's Dispose, and whatever the allocator throws when it is out of
    /// memory (nothing is counted then).</summary>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (_disposed) BufferThrow.Disposed(nameof(NativeMemoryPool));
        int length = minBufferSize;
        if ((uint)length > (uint)_maxBufferSize) length = ResolveSpecialSize(minBufferSize);
        void* block = _allocator.Allocate(BlockBytes(length));
        var owner = new PoolMemoryOwner(this, block, length);
        _rented.Rented(length);
        return owner;
    }

    /// <summary>-1 means the default size; anything else outside 0..<see cref="MaxBufferSize"/> is refused.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int ResolveSpecialSize(int minBufferSize)
    {
        if (minBufferSize == -1) return _defaultBufferSize;
        BufferThrow.OutOfRange(nameof(minBufferSize), minBufferSize,
            $"A rented buffer must be -1 (the default, {_defaultBufferSize} bytes) or 0 to {_maxBufferSize} bytes.");
        return 0;
    }

    /// <summary>Takes back the block of an owner disposed for the first time.</summary>
    internal void Return(void* block, int length)
    {
        _rented.Returned(length);
        nuint bytes = BlockBytes(length);
        _allocator.Free(block, bytes, INativeAllocator.DefaultAlignment(bytes));
    }

    /// <summary>Stops renting. Owners already out stay valid and still come back here when disposed.</summary>
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        HeapMetrics.Unregister(this);
    }
}
