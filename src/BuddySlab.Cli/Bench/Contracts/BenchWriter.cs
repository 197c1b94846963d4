using System.Buffers;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// One <see cref="IBufferWriter{T}"/> of bytes as a <see cref="WorkloadKind.Writers"/> contender makes it for one
/// document: the writer, what it holds once written (to check it), and its disposal (which gives pooled or native
/// memory back). A new one for every run, warm-up included, as a program makes one per document.
/// </summary>
public abstract class BenchWriter : IDisposable
{
    public abstract IBufferWriter<byte> Writer { get; }

    /// <summary>What was written, in order.</summary>
    public abstract ReadOnlySequence<byte> Written { get; }

    public abstract void Dispose();
}
