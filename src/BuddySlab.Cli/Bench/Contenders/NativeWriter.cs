using System.Buffers;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>BuddySlab's <see cref="NativeBufferWriter"/> over <see cref="NativeHeap.Shared"/> (what <c>new NativeBufferWriter()</c>
/// gives): segments of native memory from 4 KiB doubling to 1 MiB, never copied. Dispose frees them.</summary>
public sealed class NativeWriter : BenchWriter
{
    private readonly NativeBufferWriter _writer = new();

    public override IBufferWriter<byte> Writer => _writer;
    public override ReadOnlySequence<byte> Written => _writer.WrittenSequence;
    public override void Dispose() => _writer.Dispose();
}
