using System.Buffers;
using BuddySlab.Tests.Support;

namespace BuddySlab.Tests.Buffers;

/// <summary>
/// The buffer types over the library's other <see cref="INativeAllocator"/> implementations, with their sized frees
/// going straight to each one: a <see cref="GlobalAllocator"/> over a test region, and one thread's
/// <see cref="ThreadHeap"/>. Afterwards every page is back.
/// </summary>
public unsafe class AllocatorImplementationsTests
{
    [Fact]
    public void AllThreeWorkOverAGlobalAllocatorAndGiveEveryPageBack()
    {
        using var harness = new GlobalHarness(bytes: 64 << 20);
        Exercise(harness.Allocator);
        harness.AssertAllPagesBack();
    }

    [Fact]
    public void AllThreeWorkOverOneThreadsHeapHandle()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 64 << 20 });
        ThreadHeap local = heap.ForCurrentThread();
        Exercise(local);
        local.FlushThreadCache();
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }

    private static void Exercise(INativeAllocator allocator)
    {
        using (var pool = new NativeMemoryPool(allocator))
        {
            var owners = new List<IMemoryOwner<byte>>();
            for (int size = 0; size <= 70_000; size += size < 64 ? 1 : 997)   // every small size, 0 included
            {
                IMemoryOwner<byte> owner = pool.Rent(size);
                owner.Memory.Span.Fill((byte)size);
                owners.Add(owner);
            }
            foreach (IMemoryOwner<byte> owner in owners)
            {
                Assert.True(owner.Memory.Span.IndexOfAnyExcept((byte)owner.Memory.Length) < 0);
                owner.Dispose();
            }
            Assert.Equal(0, pool.RentedBytes);
        }

        using (var writer = new NativeBufferWriter(allocator, segmentSize: 1000))
        {
            for (int i = 0; i < 3; i++)
            {
                for (int k = 0; k < 20_000; k++)
                {
                    Span<byte> span = writer.GetSpan(k % 300);
                    span[0] = (byte)k;
                    writer.Advance(1);
                }
                Assert.Equal(20_000, writer.WrittenCount);
                byte[] written = writer.WrittenSequence.ToArray();
                for (int k = 0; k < written.Length; k++) Assert.Equal((byte)k, written[k]);
                writer.Reset();
            }
            writer.GetSpan(3 << 20);
        }

        using (var buffer = new NativeBuffer<int>(10, allocator))
        {
            for (int length = 0; length < 200_000; length = length * 2 + 7)
            {
                buffer.Resize(length);
                buffer.Span.Fill(length);
            }
        }
    }
}
