using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Buffers;

public unsafe class NativeBufferWriterTests
{
    private static byte* AddressOf(ReadOnlySpan<byte> span) => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));

    private static List<int> SegmentLengths(in ReadOnlySequence<byte> sequence)
    {
        var lengths = new List<int>();
        foreach (ReadOnlyMemory<byte> segment in sequence) lengths.Add(segment.Length);
        return lengths;
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(4096, 4096)]
    [InlineData(4097, 4097)]
    [InlineData(3 << 20, 3 << 20)]
    public void GetSpanAndGetMemoryReturnAtLeastTheHint(int hint, int atLeast)
    {
        using var writer = new NativeBufferWriter(NativeHeap.Shared);
        Span<byte> span = writer.GetSpan(hint);
        Assert.True(span.Length >= atLeast, $"{span.Length} bytes for a hint of {hint}");
        Memory<byte> memory = writer.GetMemory(hint);
        Assert.True(memory.Length >= atLeast);
        Assert.True(AddressOf(memory.Span) == AddressOf(span));             // the same room, asked for twice
        Assert.Equal(span.Length, memory.Length);
        Assert.Equal("sizeHint", Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetSpan(-1)).ParamName);
        Assert.Equal("sizeHint", Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetMemory(int.MinValue)).ParamName);
    }

    [Fact]
    public void AFullSegmentStartsTheNextOneAndEveryHintIsMet()
    {
        using var writer = new NativeBufferWriter(NativeHeap.Shared, segmentSize: 100);
        var rng = new Random(21);
        for (int i = 0; i < 2000; i++)
        {
            int hint = rng.Next(0, 300);
            Span<byte> span = writer.GetSpan(hint);
            Assert.True(span.Length >= Math.Max(hint, 1));
            writer.Advance(rng.Next(0, Math.Min(span.Length, 200) + 1));
        }
    }

    [Fact]
    public void AdvanceRefusesNegativeCountsAndMoreThanWasHandedOut()
    {
        using var writer = new NativeBufferWriter(NativeHeap.Shared, segmentSize: 64);
        Assert.Throws<InvalidOperationException>(() => writer.Advance(1));   // nothing handed out yet
        writer.Advance(0);
        Span<byte> span = writer.GetSpan(10);
        Assert.Equal(64, span.Length);
        span[..40].Fill(1);
        writer.Advance(40);
        Assert.Throws<InvalidOperationException>(() => writer.Advance(25));  // 24 left of what GetSpan returned
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(-1)).ParamName);
        Assert.Equal(40, writer.WrittenCount);
        writer.Advance(24);
        Assert.Throws<InvalidOperationException>(() => writer.Advance(1));
        Assert.Equal(64, writer.WrittenCount);
        Assert.True(writer.WrittenSequence.ToArray().AsSpan(0, 40).IndexOfAnyExcept((byte)1) < 0);
    }

    [Fact]
    public void TheWrittenSequenceIsExactlyWhatWasWritten()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20 });
        var allocator = new CountingAllocator(heap);
        using var writer = new NativeBufferWriter(allocator, segmentSize: 1000);
        var expected = new MemoryStream();
        var rng = new Random(4);
        var chunk = new byte[20_000];
        for (int i = 0; i < 3000; i++)
        {
            int hint = rng.Next(0, 3) == 0 ? 0 : rng.Next(1, 20_000);
            Span<byte> span = writer.GetSpan(hint);
            int count = rng.Next(0, Math.Min(span.Length, 20_000) + 1);
            rng.NextBytes(chunk.AsSpan(0, count));
            chunk.AsSpan(0, count).CopyTo(span);
            writer.Advance(count);
            expected.Write(chunk, 0, count);
            if (i % 500 == 0) Assert.Equal(expected.Length, writer.WrittenCount);
        }
        Assert.Equal(expected.Length, writer.WrittenCount);
        ReadOnlySequence<byte> written = writer.WrittenSequence;
        Assert.Equal(expected.Length, written.Length);
        Assert.True(written.ToArray().AsSpan().SequenceEqual(expected.ToArray()));
        Assert.True(SegmentLengths(written).Count > 10);
        Assert.DoesNotContain(0, SegmentLengths(written));                 // a segment left unwritten got a larger block instead

        var copy = new MemoryStream();
        writer.CopyTo(copy);
        Assert.True(copy.ToArray().AsSpan().SequenceEqual(expected.ToArray()));
    }

    [Fact]
    public void SegmentsDoubleFromTheFirstSizeUpTo1MiB()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 << 20 });
        using var writer = new NativeBufferWriter(heap, segmentSize: 4096);
        while (writer.WrittenCount < 4 << 20)
        {
            Span<byte> span = writer.GetSpan();
            writer.Advance(span.Length);                                    // fill each segment exactly
        }
        List<int> lengths = SegmentLengths(writer.WrittenSequence);
        int[] expected = [4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1 << 20, 1 << 20, 1 << 20, 1 << 20];
        Assert.Equal(expected, lengths);

        using var large = new NativeBufferWriter(heap, segmentSize: 3 << 20);   // a first segment above the limit stays the size
        large.Advance(large.GetSpan().Length);
        Assert.Equal(3 << 20, large.GetSpan().Length);
    }

    [Fact]
    public void GrowingNeverMovesWhatWasWritten()
    {
        using var writer = new NativeBufferWriter(NativeHeap.Shared, segmentSize: 256);
        Span<byte> first = writer.GetSpan(10);
        byte* firstAddress = AddressOf(first);
        first[..10].Fill(42);
        writer.Advance(10);
        for (int i = 0; i < 1000; i++)
        {
            Span<byte> span = writer.GetSpan(1 + i * 37 % 5000);
            span[0] = (byte)i;
            writer.Advance(1);
        }
        ReadOnlySequence<byte> written = writer.WrittenSequence;
        Assert.True(AddressOf(written.First.Span) == firstAddress);
        Assert.True(written.First.Span[..10].IndexOfAnyExcept((byte)42) < 0);
        Assert.Equal(1010, written.Length);
    }

    [Fact]
    public void AHintLargerThanTheRestOfAnEmptySegmentReplacesIt()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        using var writer = new NativeBufferWriter(allocator, segmentSize: 100);
        Assert.Equal(100, writer.GetSpan(10).Length);
        writer.Advance(0);
        Span<byte> span = writer.GetSpan(50_000);
        Assert.Equal(50_000, span.Length);
        span[..5].Fill(3);
        writer.Advance(5);
        Assert.Equal([5], SegmentLengths(writer.WrittenSequence));
        Assert.Equal(2, allocator.Allocations);
        Assert.Equal(1, allocator.Frees);                                   // the 100-byte block went back at once
    }

    [Fact]
    public void ResetForgetsTheDataAndWritesOverTheSameSegments()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20 });
        var allocator = new CountingAllocator(heap);
        var writer = new NativeBufferWriter(allocator, segmentSize: 4096);
        WriteCounting(writer, 3 << 20);
        long blocks = allocator.Allocations;
        ReadOnlySequence<byte> before = writer.WrittenSequence;
        byte* firstBlock = AddressOf(before.First.Span);

        writer.Reset();
        Assert.Equal(0, writer.WrittenCount);
        Assert.True(writer.WrittenSequence.IsEmpty);
        var copy = new MemoryStream();
        writer.CopyTo(copy);
        Assert.Equal(0, copy.Length);

        WriteCounting(writer, 3 << 20);
        Assert.Equal(blocks, allocator.Allocations);                        // nothing new: the chain is reused
        Assert.Equal(0, allocator.Frees);
        Assert.True(AddressOf(writer.WrittenSequence.First.Span) == firstBlock);
        CheckCounting(writer.WrittenSequence, 3 << 20);

        writer.Reset();
        WriteCounting(writer, 5 << 20);                                     // longer: the chain grows at its end
        CheckCounting(writer.WrittenSequence, 5 << 20);
        Assert.Equal(allocator.LiveCount, allocator.Allocations - allocator.Frees);
        writer.Dispose();
        Assert.Equal(0, allocator.LiveCount);
    }

    [Fact]
    public void ASpareTooSmallForTheHintGetsALargerBlock()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        using var writer = new NativeBufferWriter(allocator, segmentSize: 100);
        writer.Advance(writer.GetSpan(1).Length);
        writer.Advance(writer.GetSpan(1).Length);                           // segments of 100 and 200
        writer.Reset();
        writer.Advance(writer.GetSpan(100).Length);                         // the first spare, as it is
        Span<byte> span = writer.GetSpan(5000);                              // the second is too small
        Assert.Equal(5000, span.Length);
        writer.Advance(10);
        Assert.Equal([100, 10], SegmentLengths(writer.WrittenSequence));
        Assert.Equal(3, allocator.Allocations);
        Assert.Equal(1, allocator.Frees);
    }

    [Fact]
    public void AnAllocatorOutOfMemoryLeavesTheWriterAsItWas()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20, MaxBytes = 8 << 20 });
        using var writer = new NativeBufferWriter(heap);
        Span<byte> span = writer.GetSpan(1000);
        span[..1000].Fill(6);
        writer.Advance(1000);
        byte* next = AddressOf(span) + 1000;
        Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => writer.GetSpan(64 << 20)).Error);
        Assert.Equal(1000, writer.WrittenCount);
        Span<byte> after = writer.GetSpan(10);
        Assert.True(AddressOf(after) == next);                              // still the same segment, right after the data
        after[0] = 7;
        writer.Advance(1);
        byte[] written = writer.WrittenSequence.ToArray();
        Assert.Equal(1001, written.Length);
        Assert.True(written.AsSpan(0, 1000).IndexOfAnyExcept((byte)6) < 0);
        Assert.Equal(7, written[1000]);
    }

    [Fact]
    public void AfterDisposeEveryMemberAndEverythingHandedOutThrows()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        var writer = new NativeBufferWriter(allocator, segmentSize: 512);
        Memory<byte> memory = writer.GetMemory(100);
        writer.Advance(100);
        WriteCounting(writer, 5000);
        ReadOnlySequence<byte> sequence = writer.WrittenSequence;
        writer.Dispose();
        Assert.Equal(0, allocator.LiveCount);
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
        Assert.Throws<ObjectDisposedException>(() => writer.GetMemory(10));
        Assert.Throws<ObjectDisposedException>(() => writer.Advance(0));
        Assert.Throws<ObjectDisposedException>(() => writer.WrittenCount);
        Assert.Throws<ObjectDisposedException>(() => writer.WrittenSequence);
        Assert.Throws<ObjectDisposedException>(() => writer.CopyTo(new MemoryStream()));
        Assert.Throws<ObjectDisposedException>(() => writer.Reset());
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => sequence.First.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => sequence.ToArray());
        writer.Dispose();                                                   // twice is fine
        Assert.Equal(allocator.Allocations, allocator.Frees);
    }

    [Fact]
    public void TheConstructorRefusesBadArgumentsAndTheDefaultWritesToTheSharedHeap()
    {
        Assert.Throws<ArgumentNullException>(() => new NativeBufferWriter(null!));
        Assert.Equal("segmentSize", Assert.Throws<ArgumentOutOfRangeException>(() => new NativeBufferWriter(NativeHeap.Shared, 0)).ParamName);
        using var writer = new NativeBufferWriter();
        Span<byte> span = writer.GetSpan();
        Assert.Equal(4096, span.Length);
        Assert.Equal((nuint)4096, NativeHeap.Shared.UsableSize(AddressOf(span)));
        Assert.Throws<ArgumentNullException>(() => writer.CopyTo(null!));
    }

    [Fact]
    public void TheFinalizerFreesTheSegmentsOfAWriterNeverDisposed()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        WriteAndDrop(allocator);
        CollectAll();
        Assert.True(allocator.Allocations > 3);
        Assert.Equal(allocator.Allocations, allocator.Frees);
        Assert.Equal(0, allocator.LiveCount);
    }

    [Fact]
    public void TheFinalizerIgnoresAnAllocatorDisposedFirst()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        WriteAndDrop(allocator);
        allocator.Disposed = true;
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20 });
        WriteAndDrop(heap);
        heap.Dispose();
        CollectAll();                                                       // a throw here would end the process
        Assert.Equal(allocator.Allocations, allocator.RefusedFrees);        // every block was offered back, and refused
    }

    [Fact]
    public void AWrittenSequenceKeepsItsWriterFromBeingFinalized()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        ReadOnlySequence<byte> sequence = SequenceOfDroppedWriter(allocator);
        CollectAll();
        Assert.Equal(0, allocator.Frees);
        CheckCounting(sequence, 200_000);
        GC.KeepAlive(sequence);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteAndDrop(INativeAllocator allocator) => WriteCounting(new NativeBufferWriter(allocator, 1000), 100_000);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ReadOnlySequence<byte> SequenceOfDroppedWriter(INativeAllocator allocator)
    {
        var writer = new NativeBufferWriter(allocator, 1000);
        WriteCounting(writer, 200_000);
        return writer.WrittenSequence;
    }

    private static void CollectAll()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>Writes <paramref name="bytes"/> bytes of position mod 251, in uneven pieces.</summary>
    private static void WriteCounting(NativeBufferWriter writer, long bytes)
    {
        long position = writer.WrittenCount;
        for (int i = 0; position < bytes; i++)
        {
            Span<byte> span = writer.GetSpan(i % 7 * 300);
            int count = (int)Math.Min(Math.Min(span.Length, 1 + i * 131 % 9000), bytes - position);
            for (int k = 0; k < count; k++) span[k] = (byte)((position + k) % 251);
            writer.Advance(count);
            position += count;
        }
    }

    private static void CheckCounting(in ReadOnlySequence<byte> sequence, long bytes)
    {
        Assert.Equal(bytes, sequence.Length);
        long position = 0;
        foreach (ReadOnlyMemory<byte> segment in sequence)
        {
            ReadOnlySpan<byte> span = segment.Span;
            for (int k = 0; k < span.Length; k++)
                if (span[k] != (byte)((position + k) % 251)) Assert.Fail($"byte {position + k} is {span[k]}");
            position += span.Length;
        }
    }
}
