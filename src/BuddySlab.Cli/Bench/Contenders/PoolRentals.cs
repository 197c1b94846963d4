using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>The handle of a <see cref="PoolRentals"/> contender: the owner a pool's <c>Rent</c> returned. A struct for
/// the same reason as <see cref="PooledArray"/> (workloads specialised for it, no covariant array-store checks).</summary>
public readonly struct RentedOwner(IMemoryOwner<byte> owner)
{
    public readonly IMemoryOwner<byte> Owner = owner;
}

/// <summary>
/// A <see cref="MemoryPool{T}"/> as the <c>rent-return</c> workloads drive it: <c>Rent(size)</c> is the allocation,
/// disposing the owner the free, and the bytes are reached through the owner's <see cref="Memory{T}"/> as a consumer
/// reaches them. One struct for every pool (BuddySlab's <see cref="NativeMemoryPool"/> and
/// <see cref="MemoryPool{T}.Shared"/>): the calls are the pools' virtual methods, as in any program, so the pools differ
/// only in what those methods do.
/// </summary>
public readonly struct PoolRentals(MemoryPool<byte> pool) : IBenchAllocator<RentedOwner>
{
    private readonly MemoryPool<byte> _pool = pool;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RentedOwner Allocate(nuint size) => new(_pool.Rent((int)size));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(RentedOwner handle, nuint size) => handle.Owner.Dispose();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(RentedOwner handle) => ref MemoryMarshal.GetReference(handle.Owner.Memory.Span);

    /// <summary>Nothing to do: the pool outlives the repetition.</summary>
    public void Dispose() { }
}
