using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace BuddySlab.Tests.Buffers;

/// <summary>
/// A loopback TCP echo server and its clients, every connection read and written through the stream adapters of
/// System.IO.Pipelines (<see cref="PipeReader.Create(Stream, StreamPipeReaderOptions?)"/>,
/// <see cref="PipeWriter.Create(Stream, StreamPipeWriterOptions?)"/>) over <see cref="NetworkStream"/>, all renting
/// from one <see cref="NativeMemoryPool"/>.
/// </summary>
public class SocketConsumerTests(ITestOutputHelper output)
{
    private const int Clients = 8;
    private const int BytesPerClient = 8 << 20;

    [Fact]
    public async Task EightClientsEcho8MiBEachThroughThePool()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 32 << 20 });
        var allocator = new CountingAllocator(heap);
        using var pool = new NativeMemoryPool(allocator);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(Clients);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;

        var clock = Stopwatch.StartNew();
        Task server = Task.Run(async () =>
        {
            var connections = new List<Task>();
            for (int i = 0; i < Clients; i++) connections.Add(Echo(await listener.AcceptAsync(), pool));
            await Task.WhenAll(connections);
        });
        long[] echoed = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i => Task.Run(() => Client(i, endPoint, pool))))
            .WaitAsync(TimeSpan.FromMinutes(2));
        await server.WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine($"{Clients} x {BytesPerClient >> 20} MiB echoed in {clock.Elapsed.TotalSeconds:F2} s; {allocator.Allocations} rents");

        Assert.All(echoed, count => Assert.Equal(BytesPerClient, count));
        Assert.True(allocator.Allocations >= 2L * Clients * BytesPerClient / (1 << 16), $"{allocator.Allocations} rents");
        Assert.Equal(0, pool.RentedCount);                                  // every rent came back
        Assert.Equal(0, pool.RentedBytes);
        Assert.Equal(allocator.Allocations, allocator.Frees);
    }

    /// <summary>Sends everything the connection receives straight back; shuts its side down at the end of input.</summary>
    private static async Task Echo(Socket socket, MemoryPool<byte> pool)
    {
        using (socket)
        await using (var stream = new NetworkStream(socket, ownsSocket: false))
        {
            PipeReader input = PipeReader.Create(stream, new StreamPipeReaderOptions(pool: pool, bufferSize: 16 << 10, leaveOpen: true));
            PipeWriter echo = PipeWriter.Create(stream, new StreamPipeWriterOptions(pool: pool, leaveOpen: true));
            while (true)
            {
                ReadResult result = await input.ReadAsync();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer) echo.Write(segment.Span);
                input.AdvanceTo(result.Buffer.End);
                await echo.FlushAsync();
                if (result.IsCompleted) break;
            }
            await input.CompleteAsync();
            await echo.CompleteAsync();
            socket.Shutdown(SocketShutdown.Send);
        }
    }

    /// <summary>Sends its pattern in uneven writes while it reads the echo back and checks every byte; returns the bytes echoed.</summary>
    private static async Task<long> Client(int index, IPEndPoint server, MemoryPool<byte> pool)
    {
        var pattern = new TestPattern(seed: 80 + index, start: index * 1000);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        await using var stream = new NetworkStream(socket, ownsSocket: false);

        Task send = Task.Run(async () =>
        {
            PipeWriter output = PipeWriter.Create(stream, new StreamPipeWriterOptions(pool: pool, minimumBufferSize: 4096, leaveOpen: true));
            var rng = new Random(index);
            long position = 0;
            while (position < BytesPerClient)
            {
                int size = (int)Math.Min(1 + rng.Next(1 << rng.Next(17)), BytesPerClient - position);
                Memory<byte> memory = output.GetMemory(size);
                pattern.CopyTo(position, memory.Span[..size]);
                output.Advance(size);
                position += size;
                if (rng.Next(4) == 0) await output.FlushAsync();
            }
            await output.CompleteAsync();
            socket.Shutdown(SocketShutdown.Send);
        });

        PipeReader input = PipeReader.Create(stream, new StreamPipeReaderOptions(pool: pool, leaveOpen: true));
        long received = 0;
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                if (!pattern.Matches(received, segment.Span)) throw new InvalidDataException($"client {index}: byte {received}.. differs");
                received += segment.Length;
            }
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted) break;
        }
        await input.CompleteAsync();
        await send;
        return received;
    }
}
