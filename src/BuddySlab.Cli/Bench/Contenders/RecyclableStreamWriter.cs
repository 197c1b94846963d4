using System.Buffers;
using BuddySlab.Cli.Bench.Contracts;
using Microsoft.IO;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>
/// A <see cref="RecyclableMemoryStream"/> used through its <see cref="IBufferWriter{T}"/> side: pooled managed blocks
/// (128 KiB by default) from one <see cref="RecyclableMemoryStreamManager"/> per process with its default options, as
/// the package's documentation sets one up. Dispose gives the blocks back to the manager's pool.
/// </summary>
public sealed class RecyclableStreamWriter : BenchWriter
{
    private static readonly RecyclableMemoryStreamManager Manager = new();
    private readonly RecyclableMemoryStream _stream = Manager.GetStream("bench json-writer");

    public override IBufferWriter<byte> Writer => _stream;
    public override ReadOnlySequence<byte> Written => _stream.GetReadOnlySequence();
    public override void Dispose() => _stream.Dispose();
}
