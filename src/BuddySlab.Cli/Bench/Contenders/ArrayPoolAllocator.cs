using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// The handle of the <c>ArrayPool</c> contender: the rented array itself. A struct (not <c>byte[]</c>) so that the
/// workloads' generic code is specialised for it too: no shared-generic dictionary lookups and no covariant
/// array-store checks when a workload keeps handles in an array; only the GC write barrier a managed program pays.
/// </summary>
public readonly struct PooledArray(byte[] array)
{
    public readonly byte[] Array = array;
}

/// <summary>
/// <see cref="ArrayPool{T}.Shared"/>: what managed code uses instead of a native allocator. Rent and Return, with
/// the bytes reached through <see cref="MemoryMarshal.GetArrayDataReference(byte[])"/> (no pinning: a pinned
/// GCHandle per allocation would add a cost the pool itself does not have). Small-object workloads only.
/// </summary>
public readonly struct ArrayPoolAllocator : IBenchAllocator<PooledArray>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PooledArray Allocate(nuint size) => new(ArrayPool<byte>.Shared.Rent((int)size));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(PooledArray handle, nuint size) => ArrayPool<byte>.Shared.Return(handle.Array);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(PooledArray handle) => ref MemoryMarshal.GetArrayDataReference(handle.Array);

    public void Dispose() { }
}
