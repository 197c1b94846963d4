using System.Buffers;
using BuddySlab.Buffers;
using Xunit.Abstractions;

namespace BuddySlab.Tests.Buffers;

/// <summary>What the buffer types' steady state costs in managed memory, measured on the calling thread.</summary>
public unsafe class BufferAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void RentAndDisposeAllocateOnlyTheOwnerObject()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20 });
        using var pool = new NativeMemoryPool(heap);
        var sizes = new int[1024];
        var rng = new Random(5);
        for (int i = 0; i < sizes.Length; i++) sizes[i] = rng.Next(1, 65537);

        long start = GC.GetAllocatedBytesForCurrentThread();
        var probe = new PoolMemoryOwner(pool, null, 0);                     // what one owner costs, measured alone
        long ownerBytes = GC.GetAllocatedBytesForCurrentThread() - start;
        GC.KeepAlive(probe);
        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                IMemoryOwner<byte> owner = pool.Rent(sizes[i & 1023]);
                owner.Memory.Span[0] = 1;
                owner.Dispose();
            }
        }

        Run(20_000);
        const int Ops = 100_000;
        // The best of three rounds: a cost per operation shows in every round, while a path met for the first time in a
        // round (compiled then, or a purge pass of the background clock that revoked the thread's cache meanwhile) can
        // cost a few bytes once.
        long allocated = long.MaxValue;
        for (int round = 0; round < 3 && allocated != Ops * ownerBytes; round++)
        {
            long bytes = AllocatedBy(() => Run(Ops));
            output.WriteLine($"Rent + Dispose: {bytes / (double)Ops} managed bytes per operation (one owner: {ownerBytes} bytes)");
            allocated = Math.Min(allocated, bytes);
        }
        Assert.Equal(Ops * ownerBytes, allocated);
        Assert.InRange(ownerBytes, 24, IntPtr.Size == 8 ? 40 : 32);        // header, method table, pool, block, length
    }

    [Fact]
    public void WriterGetSpanAndAdvanceAllocateNothingOnceItsSegmentsExist()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 64 << 20 });
        using var writer = new NativeBufferWriter(heap);
        var hints = new int[4096];
        var rng = new Random(8);
        for (int i = 0; i < hints.Length; i++) hints[i] = rng.Next(0, 5000);

        void Write(long bytes)
        {
            int i = 0;
            while (writer.WrittenCount < bytes)
            {
                Span<byte> span = writer.GetSpan(hints[i++ & 4095]);
                int count = Math.Min(span.Length, 1 + (i & 2047));
                span[..count].Fill((byte)i);
                writer.Advance(count);
            }
            writer.Reset();
        }

        Write(16 << 20);                                                    // the chain exists now
        long allocated = AllocatedBy(() => Write(16 << 20));
        output.WriteLine($"16 MiB through a warm writer: {allocated} managed bytes");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Writing64MiBAllocatesAlmostNoManagedMemory()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 128 << 20 });
        long allocated = AllocatedBy(() =>
        {
            using var writer = new NativeBufferWriter(heap);
            var chunk = new ReadOnlySpan<byte>(new byte[4096]);
            long total = 0;
            for (int i = 0; total < 64 << 20; i++)
            {
                int size = 1 + (i * 7919 & 4095);
                Span<byte> span = writer.GetSpan(size);
                chunk[..size].CopyTo(span);
                writer.Advance(size);
                total += size;
            }
            Assert.Equal(total, writer.WrittenCount);
        });
        output.WriteLine($"64 MiB through a new writer: {allocated} managed bytes");
        Assert.InRange(allocated, 1, 32 << 10);                             // a few dozen segments; no large-object-heap array
    }

    [Fact]
    public void NativeBufferSpansIndexerAndMemoryAllocateNothing()
    {
        using var buffer = new NativeBuffer<int>(1000, NativeHeap.Shared);
        _ = buffer.Memory;                                                  // the memory manager, made once
        long sum = 0;
        long allocated = AllocatedBy(() =>
        {
            for (int round = 0; round < 1000; round++)
            {
                buffer.Span.Fill(round);
                buffer[round] = -1;
                sum += buffer[999 - round] + buffer.Memory.Span[round] + buffer.Memory.Length;
            }
        });
        Assert.Equal(0, allocated);
        Assert.NotEqual(0, sum);
    }

    private static long AllocatedBy(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
