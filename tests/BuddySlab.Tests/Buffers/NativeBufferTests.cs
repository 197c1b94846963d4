using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace BuddySlab.Tests.Buffers;

public unsafe class NativeBufferTests
{
    private struct ThreeBytes
    {
#pragma warning disable CS0649
        public byte A, B, C;
#pragma warning restore CS0649
    }

    [Fact]
    public void ABufferIsZeroedWhenClearAndHoldsTheAllocatorsBytesOtherwise()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared) { Poison = 0xCD };
        using var cleared = new NativeBuffer<int>(1000, allocator);
        using var raw = new NativeBuffer<int>(1000, allocator, clear: false);
        Assert.Equal(1000, cleared.Length);
        Assert.Equal(1000, cleared.Span.Length);
        Assert.True(MemoryMarshal.AsBytes(cleared.Span).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(MemoryMarshal.AsBytes(raw.Span).IndexOfAnyExcept((byte)0xCD) < 0);
        Assert.Equal(((nuint)4000, (nuint)16), allocator.Describe(cleared.Pointer));
    }

    [Fact]
    public void TheBlockIsAlignedForTheTypeAndTo16BytesFrom16BytesOn()
    {
        Check<byte>(1);
        Check<long>(8);
        Check<ThreeBytes>(1);
        Check<Vector128<byte>>(16);
        Check<Vector256<byte>>(32);
        Check<Vector512<byte>>(64);

        static void Check<T>(nuint natural) where T : unmanaged
        {
            // Default-aligned blocks come 16 bytes past a 32-byte boundary: more alignment has to be asked for.
            var allocator = new CountingAllocator(NativeHeap.Shared) { SkewDefaultAlignment = true };
            foreach (int length in new[] { 0, 1, 2, 3, 5, 8, 16, 17, 100, 1000 })
            {
                using var buffer = new NativeBuffer<T>(length, allocator);
                nuint bytes = (nuint)(length * sizeof(T));
                nuint expected = Math.Max(natural, bytes >= 16 ? 16u : 8u);
                Assert.Equal(0, (nint)buffer.Pointer % (nint)expected);
                Assert.Equal((bytes, expected), allocator.Describe(buffer.Pointer));
                buffer.Resize(length * 3 + 1);
                bytes = (nuint)((length * 3 + 1) * sizeof(T));
                expected = Math.Max(natural, bytes >= 16 ? 16u : 8u);
                Assert.Equal(0, (nint)buffer.Pointer % (nint)expected);
            }
            Assert.Equal(allocator.Allocations, allocator.Frees);
        }
    }

    [Fact]
    public void TheIndexerIsBoundsCheckedAndReadsTheSpan()
    {
        using var buffer = new NativeBuffer<long>(10, NativeHeap.Shared);
        for (int i = 0; i < 10; i++) buffer[i] = i * 11;
        Assert.Equal(99, buffer.Span[9]);
        Assert.True(Unsafe.AreSame(ref buffer[3], ref buffer.Span[3]));
        Assert.True(Unsafe.AsPointer(ref buffer[0]) == buffer.Pointer);
        Assert.Equal("index", Assert.Throws<ArgumentOutOfRangeException>(() => buffer[10]).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer[-1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer[int.MinValue]);
        using var empty = new NativeBuffer<long>(0, NativeHeap.Shared);
        Assert.True(empty.Pointer != null);
        Assert.Equal(0, empty.Span.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => empty[0]);
    }

    [Fact]
    public void AfterDisposeEveryAccessThrows()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        var buffer = new NativeBuffer<int>(100, allocator);
        Memory<int> before = buffer.Memory;
        buffer.Dispose();
        Assert.Equal(1, allocator.Frees);
        Assert.Equal(0, buffer.Length);
        Assert.Throws<ObjectDisposedException>(() => buffer.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => buffer.Memory);
        Assert.Throws<ObjectDisposedException>(() => buffer[0]);
        Assert.Throws<ObjectDisposedException>(() => (nint)buffer.Pointer);
        Assert.Throws<ObjectDisposedException>(() => buffer.Resize(10));
        Assert.Throws<ObjectDisposedException>(() => before.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => before.Pin());
        buffer.Dispose();                                                   // twice is fine
        Assert.Equal(1, allocator.Frees);
    }

    [Fact]
    public void ResizeKeepsTheFirstElementsAndZeroesWhatItAdds()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared) { Poison = 0xCD };   // its Reallocate always moves
        using var buffer = new NativeBuffer<int>(100, allocator);
        for (int i = 0; i < 100; i++) buffer[i] = i + 1;
        buffer.Resize(1000);
        Assert.Equal(1000, buffer.Length);
        for (int i = 0; i < 100; i++) Assert.Equal(i + 1, buffer[i]);
        Assert.True(buffer.Span[100..].IndexOfAnyExcept(0) < 0);
        buffer.Resize(30);
        Assert.Equal(30, buffer.Span.Length);
        for (int i = 0; i < 30; i++) Assert.Equal(i + 1, buffer[i]);
        buffer.Resize(0);
        Assert.Equal(0, buffer.Span.Length);
        buffer.Resize(5);
        Assert.True(buffer.Span.IndexOfAnyExcept(0) < 0);
        buffer.Resize(5);                                                   // the same length: nothing happens
        Assert.Equal(((nuint)20, (nuint)16), allocator.Describe(buffer.Pointer));
    }

    [Fact]
    public void ResizeWithoutClearLeavesTheAddedPartAsTheAllocatorGaveIt()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared) { Poison = 0xCD };
        using var buffer = new NativeBuffer<byte>(10, allocator, clear: false);
        buffer.Span.Fill(1);
        buffer.Resize(50);
        Assert.True(buffer.Span[..10].IndexOfAnyExcept((byte)1) < 0);
        Assert.True(buffer.Span[10..].IndexOfAnyExcept((byte)0xCD) < 0);
    }

    [Fact]
    public void RandomResizesOnTheHeapKeepEveryElement()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20 });
        var allocator = new CountingAllocator(heap);
        var rng = new Random(12);
        using var buffer = new NativeBuffer<int>(0, heap);
        using var checkedBuffer = new NativeBuffer<int>(0, allocator);
        var model = new List<int>();
        for (int step = 0; step < 400; step++)
        {
            int length = rng.Next(0, 1 << rng.Next(1, 19));
            buffer.Resize(length);
            checkedBuffer.Resize(length);
            if (length < model.Count) model.RemoveRange(length, model.Count - length);
            else model.AddRange(new int[length - model.Count]);
            for (int k = 0; k < Math.Min(length, 64); k++)
            {
                int index = rng.Next(length);
                model[index] = buffer[index] = checkedBuffer[index] = rng.Next();
            }
            Assert.True(buffer.Span.SequenceEqual(CollectionsMarshal.AsSpan(model)), $"step {step}");
            Assert.True(checkedBuffer.Span.SequenceEqual(CollectionsMarshal.AsSpan(model)), $"step {step}");
        }
    }

    [Fact]
    public void BadLengthsAndAllocatorsAreRefused()
    {
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => new NativeBuffer<int>(-1)).ParamName);
        Assert.Throws<ArgumentNullException>(() => new NativeBuffer<int>(1, null!));
        using var buffer = new NativeBuffer<int>(10, NativeHeap.Shared);
        buffer[9] = 9;
        Assert.Equal("newLength", Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Resize(-1)).ParamName);
        Assert.Equal(10, buffer.Length);
        Assert.Equal(9, buffer[9]);
    }

    [Fact]
    public void OutOfMemoryLeavesTheBufferAsItWas()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20, MaxBytes = 8 << 20 });
        Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => new NativeBuffer<long>(10_000_000, heap)).Error);
        using var buffer = new NativeBuffer<long>(1000, heap);
        for (int i = 0; i < 1000; i++) buffer[i] = i;
        long* pointer = buffer.Pointer;
        Assert.Equal(AllocError.NoMemory, Assert.Throws<AllocatorException>(() => buffer.Resize(10_000_000)).Error);
        Assert.Equal(1000, buffer.Length);
        Assert.True(buffer.Pointer == pointer);
        for (int i = 0; i < 1000; i++) Assert.Equal(i, buffer[i]);
    }

    [Fact]
    public void TheDefaultAllocatorIsTheSharedHeap()
    {
        using var buffer = new NativeBuffer<double>(5000);
        Assert.True(NativeHeap.Shared.UsableSize(buffer.Pointer) >= 40_000);
        Assert.True(buffer.Span.IndexOfAnyExcept(0.0) < 0);
    }

    [Fact]
    public void MemoryIsNotArrayBackedAndFollowsResize()
    {
        using var buffer = new NativeBuffer<short>(100, NativeHeap.Shared);
        Memory<short> memory = buffer.Memory;
        Assert.Equal(100, memory.Length);
        Assert.False(MemoryMarshal.TryGetArray<short>(memory, out _));
        buffer.Resize(200);
        buffer[7] = 77;
        Assert.Equal(77, memory.Span[7]);                                   // the buffer's block as it is now
        Assert.True(Unsafe.AsPointer(ref memory.Span[0]) == buffer.Pointer);
        buffer.Resize(50);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Span.Length);   // longer than the buffer now
        Assert.Equal(50, buffer.Memory.Span.Length);
    }

    [Fact]
    public void APinHoldsTheBlockThroughResizeAndDispose()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        var buffer = new NativeBuffer<int>(64, allocator);
        MemoryHandle whole = buffer.Memory.Pin();
        MemoryHandle tail = buffer.Memory.Slice(5).Pin();
        Assert.True(whole.Pointer == buffer.Pointer);
        Assert.True(tail.Pointer == buffer.Pointer + 5);
        Assert.Throws<InvalidOperationException>(() => buffer.Resize(10));
        whole.Dispose();
        Assert.Throws<InvalidOperationException>(() => buffer.Resize(10));
        buffer.Dispose();
        Assert.Equal(0, allocator.Frees);                                   // still pinned
        Assert.Throws<ObjectDisposedException>(() => buffer.Span.Length);
        tail.Dispose();
        Assert.Equal(1, allocator.Frees);                                   // the last unpin frees
        Assert.Equal(0, allocator.LiveCount);

        using var other = new NativeBuffer<int>(8, allocator);
        using (other.Memory.Pin()) { }
        other.Resize(16);                                                   // nothing pinned any more
        Assert.Equal(16, other.Length);
    }

    [Fact]
    public void PinsOnManyThreadsRacingADisposeFreeTheBlockOnce()
    {
        for (int round = 0; round < 20; round++)
        {
            var allocator = new CountingAllocator(NativeHeap.Shared);
            var buffer = new NativeBuffer<long>(1000, allocator);
            Memory<long> memory = buffer.Memory;
            var start = new Barrier(5);
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 100_000; i++)
                {
                    try
                    {
                        using MemoryHandle handle = memory.Pin();
                        ((long*)handle.Pointer)[t] = i;                     // the block is live while pinned
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e);
                        return;
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            start.SignalAndWait();
            Thread.SpinWait(20_000 * round);
            buffer.Dispose();
            threads.ForEach(t => t.Join());
            Assert.Empty(failures);
            Assert.Equal(1, allocator.Frees);
            Assert.Equal(0, allocator.LiveCount);
        }
    }

    [Fact]
    public void TheFinalizerFreesABufferNeverDisposed()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        CreateAndDrop(allocator);
        CollectAll();
        Assert.Equal(1, allocator.Frees);
        Assert.Equal(0, allocator.LiveCount);
    }

    [Fact]
    public void TheFinalizerIgnoresAnAllocatorDisposedFirst()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        CreateAndDrop(allocator);
        allocator.Disposed = true;
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20 });
        CreateAndDrop(heap);
        heap.Dispose();
        CollectAll();                                                       // a throw here would end the process
        Assert.Equal(1, allocator.RefusedFrees);
    }

    [Fact]
    public void MemoryKeepsItsBufferFromBeingFinalized()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        Memory<int> memory = MemoryOfDroppedBuffer(allocator);
        CollectAll();
        Assert.Equal(0, allocator.Frees);
        for (int i = 0; i < memory.Length; i++) Assert.Equal(i, memory.Span[i]);
        GC.KeepAlive(memory);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateAndDrop(INativeAllocator allocator)
    {
        var buffer = new NativeBuffer<long>(1000, allocator);
        buffer[999] = 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Memory<int> MemoryOfDroppedBuffer(INativeAllocator allocator)
    {
        var buffer = new NativeBuffer<int>(500, allocator);
        for (int i = 0; i < 500; i++) buffer[i] = i;
        return buffer.Memory;
    }

    private static void CollectAll()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
