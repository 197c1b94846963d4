using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Xunit.Abstractions;

namespace BuddySlab.Tests.Buffers;

/// <summary>System.IO.Pipelines' <see cref="Pipe"/> renting every segment from a <see cref="NativeMemoryPool"/>.</summary>
public class PipelinesConsumerTests(ITestOutputHelper output)
{
    private const long Total = 256L << 20;

    [Fact]
    public void APipeCarries256MiBOfRandomWritesAndEveryByteArrives()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 << 20 });
        var allocator = new CountingAllocator(heap);
        using var pool = new NativeMemoryPool(allocator);
        var pipe = new Pipe(new PipeOptions(pool: pool, pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 512 << 10,
            minimumSegmentSize: 4096, useSynchronizationContext: false));
        var pattern = new TestPattern(seed: 256);
        Exception? writerFailure = null, readerFailure = null;
        long received = 0, writes = 0;
        int mismatchAt = -1;

        var writer = new Thread(() =>
        {
            try
            {
                var rng = new Random(17);
                long position = 0;
                while (position < Total)
                {
                    int size = (int)Math.Min(1 + rng.Next(1 << rng.Next(17)), Total - position);   // 1 B..64 KiB, spread over the scales
                    Span<byte> span = pipe.Writer.GetSpan(size);
                    pattern.CopyTo(position, span[..size]);
                    pipe.Writer.Advance(size);
                    position += size;
                    writes++;
                    ValueTask<FlushResult> flush = pipe.Writer.FlushAsync();
                    if (!flush.IsCompletedSuccessfully) flush.AsTask().GetAwaiter().GetResult();
                }
                pipe.Writer.Complete();
            }
            catch (Exception e)
            {
                writerFailure = e;
                pipe.Writer.Complete(e);
            }
        }) { Name = "pipe writer" };

        var reader = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    ValueTask<ReadResult> read = pipe.Reader.ReadAsync();
                    ReadResult result = read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
                    foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                    {
                        if (mismatchAt < 0 && !pattern.Matches(received, segment.Span)) mismatchAt = (int)Math.Min(received, int.MaxValue);
                        received += segment.Length;
                    }
                    pipe.Reader.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted) break;
                }
                pipe.Reader.Complete();
            }
            catch (Exception e)
            {
                readerFailure = e;
                pipe.Reader.Complete(e);
            }
        }) { Name = "pipe reader" };

        var clock = Stopwatch.StartNew();
        reader.Start();
        writer.Start();
        writer.Join();
        reader.Join();
        output.WriteLine($"{Total >> 20} MiB in {writes} writes through the pipe in {clock.Elapsed.TotalSeconds:F2} s; {allocator.Allocations} rents");

        Assert.Null(writerFailure);
        Assert.Null(readerFailure);
        Assert.Equal(-1, mismatchAt);
        Assert.Equal(Total, received);
        Assert.True(allocator.Allocations > 1000, $"{allocator.Allocations} rents");
        Assert.Equal(0, pool.RentedCount);                                  // every segment went back
        Assert.Equal(0, pool.RentedBytes);
        Assert.Equal(allocator.Allocations, allocator.Frees);
    }
}
