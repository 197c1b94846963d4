using System.Buffers;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary><see cref="MemoryPool{T}.Shared"/>: the pool a <c>Pipe</c> uses by default, owners over arrays of
/// <see cref="ArrayPool{T}.Shared"/>. Process-wide, so disposing the subject leaves it alone.</summary>
public static class SharedMemoryPool
{
    public static PoolSubject Create() => new(MemoryPool<byte>.Shared, null, TimeSpan.Zero, () => { });
}
