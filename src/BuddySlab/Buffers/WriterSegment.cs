using System.Buffers;

namespace BuddySlab.Buffers;

/// <summary>
/// One link of a <see cref="NativeBufferWriter"/>'s chain: a native block (its <see cref="ReadOnlySequenceSegment{T}.Memory"/>, through its
/// <see cref="SegmentMemory"/>) and its place in the written sequence.
/// </summary>
/// <remarks>
/// While a segment is being written, its sequence memory is its whole block; once the writer moves on, it is
/// exactly the bytes written (<see cref="Seal"/>), as <see cref="ReadOnlySequence{T}"/> reads every segment but the
/// last in full. <see cref="ReadOnlySequenceSegment{T}.RunningIndex"/> is the count of bytes written before it.
/// Segment objects outlive <see cref="NativeBufferWriter.Reset"/>: the chain is rewritten from the front.
/// </remarks>
internal sealed unsafe class WriterSegment : ReadOnlySequenceSegment<byte>
{
    public WriterSegment(NativeBufferWriter writer) => Block = new SegmentMemory(writer);

    public SegmentMemory Block { get; }

    public byte* Pointer => Block.Block;

    public int Capacity => Block.Capacity;

    public WriterSegment? NextSegment => (WriterSegment?)Next;

    public void Link(WriterSegment next) => Next = next;

    /// <summary>Starts writing this segment after <paramref name="runningIndex"/> bytes: its memory is the whole block.</summary>
    public void Open(long runningIndex)
    {
        RunningIndex = runningIndex;
        Memory = Block.Slice(0, Block.Capacity);
    }

    /// <summary>Ends writing this segment with <paramref name="written"/> bytes in it.</summary>
    public void Seal(int written) => Memory = Block.Slice(0, written);
}
