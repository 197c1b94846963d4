using System.Buffers;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>The runtime's <see cref="ArrayBufferWriter{T}"/>: one managed array that doubles (copying what was written)
/// whenever it is full, so a large document ends in large-object-heap arrays the garbage collector has to reclaim.</summary>
public sealed class ArrayWriter : BenchWriter
{
    private readonly ArrayBufferWriter<byte> _writer = new();

    public override IBufferWriter<byte> Writer => _writer;
    public override ReadOnlySequence<byte> Written => new(_writer.WrittenMemory);
    public override void Dispose() { }
}
