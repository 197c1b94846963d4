namespace BuddySlab.Tests.Buffers;

/// <summary>The runtime's span algorithms and streams working on a <see cref="NativeBuffer{T}"/>.</summary>
public class SpanConsumerTests
{
    private const int Count = 10_000_000;

    [Fact]
    public void SortAndBinarySearchWorkOverTenMillionLongs()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 128 << 20 });
        using var buffer = new NativeBuffer<long>(Count, heap, clear: false);
        Span<long> span = buffer.Span;
        // The odd numbers below 2 * Count, scrambled: i * Scramble mod Count runs over 0..Count-1 once, as Scramble
        // shares no factor with Count (2^7 * 5^7). Written in order, so filling costs no random memory access.
        const long Scramble = 7_654_321;
        for (int i = 0; i < Count; i++) span[i] = 2 * (i * Scramble % Count) + 1;
        Assert.Equal(2 * Scramble + 1, span[1]);

        MemoryExtensions.Sort(buffer.Span);

        int wrong = -1;
        for (int i = 0; i < Count && wrong < 0; i++) if (span[i] != 2L * i + 1) wrong = i;
        Assert.Equal(-1, wrong);
        var rng = new Random(10);
        for (int probe = 0; probe < 100_000; probe++)
        {
            long value = rng.NextInt64(-1, 2L * Count + 2);
            int found = MemoryExtensions.BinarySearch(buffer.Span, value);
            int expected = value < 0 ? ~0 : (value & 1) == 1 ? (int)(value / 2) : ~(int)(value / 2);
            if (found != expected) Assert.Fail($"BinarySearch({value}) gave {found}, not {expected}");
        }
    }

    [Fact]
    public async Task MemoryOfABufferGoesThroughAsyncStreamWrites()
    {
        using var buffer = new NativeBuffer<byte>((3 << 20) + 123, NativeHeap.Shared);
        new Random(31).NextBytes(buffer.Span);
        string path = Path.Combine(Path.GetTempPath(), $"buddyslab-{Guid.NewGuid():N}.bin");
        try
        {
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous))
            {
                await file.WriteAsync(buffer.Memory);
                await file.WriteAsync(buffer.Memory[..1000]);
            }
            byte[] back = await File.ReadAllBytesAsync(path);
            Assert.Equal(buffer.Length + 1000, back.Length);
            Assert.True(back.AsSpan(0, buffer.Length).SequenceEqual(buffer.Span));
            Assert.True(back.AsSpan(buffer.Length).SequenceEqual(buffer.Span[..1000]));
        }
        finally
        {
            File.Delete(path);
        }

        var memoryStream = new MemoryStream();
        await memoryStream.WriteAsync(buffer.Memory[5..]);
        Assert.True(memoryStream.ToArray().AsSpan().SequenceEqual(buffer.Span[5..]));

        buffer.Resize(10);                                                  // no pin outlived the writes
        Assert.Equal(10, buffer.Length);
    }
}
