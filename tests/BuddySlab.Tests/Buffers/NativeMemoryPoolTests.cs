using System.Buffers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Buffers;

public unsafe class NativeMemoryPoolTests
{
    private static byte* AddressOf(Memory<byte> memory) => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(memory.Span));

    [Fact]
    public void RentGivesExactlyTheRequestedLengthWithinTheContractsBounds()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20 });
        var allocator = new CountingAllocator(heap);
        using var pool = new NativeMemoryPool(allocator, maxBufferSize: 1 << 20);
        var rng = new Random(15);
        var sizes = new List<int> { 0, 1, 7, 8, 15, 16, 17, 100, 4095, 4096, 4097, 65536, 1 << 20 };
        for (int i = 0; i < 500; i++) sizes.Add(rng.Next(0, 1 << rng.Next(1, 21)));
        foreach (int size in sizes)
        {
            using IMemoryOwner<byte> owner = pool.Rent(size);
            int length = owner.Memory.Length;
            Assert.Equal(size, length);
            Assert.InRange(length, size, Math.Max(2 * size, 16));
            if (size >= 16) Assert.Equal(0, (nint)AddressOf(owner.Memory) % 16);
            owner.Memory.Span.Fill(0x5A);                                   // the whole length is writable
        }
        Assert.Equal(sizes.Count, allocator.Allocations);
        Assert.Equal(sizes.Count, allocator.Frees);                         // every sized free matched its allocation
    }

    [Theory]
    [InlineData(true, new[] { 0, 100, 2048, 2049, 4095, 4096, 4097, 8192, 8193, 40000, 65535, 65536, 65537, 200000 },
        new[] { 0, 100, 2048, 4096, 4096, 4096, 8192, 8192, 16384, 65536, 65536, 65536, 65537, 200000 })]
    [InlineData(false, new[] { 2049, 4097, 40000, 65537 }, new[] { 2049, 4097, 40000, 65537 })]
    public void BlocksBetween2And64KiBAreTakenAtThePowerOfTwoAboveUnlessRoundingIsOff(bool round, int[] lengths, int[] blocks)
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        using var pool = new NativeMemoryPool(allocator, maxBufferSize: 1 << 20) { RoundBlockSizes = round };
        Assert.Equal(round, pool.RoundBlockSizes);
        for (int i = 0; i < lengths.Length; i++)
        {
            Assert.Equal((nuint)blocks[i], pool.BlockBytes(lengths[i]));
            IMemoryOwner<byte> owner = pool.Rent(lengths[i]);
            Assert.Equal(lengths[i], owner.Memory.Length);                 // the memory is what was asked, whatever the block
            Assert.Equal(lengths[i], pool.RentedBytes);
            if (lengths[i] > 0) Assert.Equal((nuint)blocks[i], allocator.Describe(AddressOf(owner.Memory)).Size);
            owner.Dispose();                                                // a sized free of the block's own size, or it throws
            Assert.Equal(0, allocator.LiveCount);
        }
        Assert.Equal(lengths.Length, allocator.Frees);
    }

    [Fact]
    public void RentOfMinusOneGivesTheDefaultSize()
    {
        using var pool = new NativeMemoryPool(NativeHeap.Shared, defaultBufferSize: 1000, maxBufferSize: 5000);
        Assert.Equal(1000, pool.DefaultBufferSize);
        Assert.Equal(5000, pool.MaxBufferSize);
        using IMemoryOwner<byte> owner = pool.Rent();
        Assert.Equal(1000, owner.Memory.Length);
        using IMemoryOwner<byte> explicitDefault = pool.Rent(-1);
        Assert.Equal(1000, explicitDefault.Memory.Length);
        Assert.Equal(2000, pool.RentedBytes);
    }

    [Fact]
    public void TheParameterlessPoolRentsFromTheSharedHeap()
    {
        using var pool = new NativeMemoryPool();
        Assert.Equal(4096, pool.DefaultBufferSize);
        Assert.Equal(1 << 30, pool.MaxBufferSize);
        using IMemoryOwner<byte> owner = pool.Rent();
        Assert.Equal(4096, owner.Memory.Length);
        Assert.True(NativeHeap.Shared.UsableSize(AddressOf(owner.Memory)) >= 4096);   // a live shared-heap block
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    [InlineData(5001)]
    [InlineData(int.MaxValue)]
    public void RequestsOutsideTheRangeThrowAndRentNothing(int size)
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        using var pool = new NativeMemoryPool(allocator, defaultBufferSize: 100, maxBufferSize: 5000);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(size));
        Assert.Equal("minBufferSize", e.ParamName);
        Assert.Equal(0, pool.RentedCount);
        Assert.Equal(0, pool.RentedBytes);
        Assert.Equal(0, allocator.Allocations);
        using IMemoryOwner<byte> largest = pool.Rent(5000);                 // the bound itself is fine
        Assert.Equal(5000, largest.Memory.Length);
    }

    [Fact]
    public void TheConstructorRefusesBadArguments()
    {
        Assert.Throws<ArgumentNullException>(() => new NativeMemoryPool(null!));
        Assert.Equal("maxBufferSize", Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool(NativeHeap.Shared, 1, 0)).ParamName);
        Assert.Equal("defaultBufferSize", Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool(NativeHeap.Shared, 0, 10)).ParamName);
        Assert.Equal("defaultBufferSize", Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool(NativeHeap.Shared, 11, 10)).ParamName);
    }

    [Fact]
    public void TheCountersAreExact()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        using var pool = new NativeMemoryPool(allocator);
        var owners = new List<IMemoryOwner<byte>>();
        long bytes = 0;
        var rng = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            int size = rng.Next(0, 100_000);
            owners.Add(pool.Rent(size));
            bytes += size;
            Assert.Equal(i + 1, pool.RentedCount);
            Assert.Equal(bytes, pool.RentedBytes);
        }
        for (int i = 0; i < owners.Count; i += 2)
        {
            bytes -= owners[i].Memory.Length;
            owners[i].Dispose();
            owners[i].Dispose();                                            // a second dispose changes nothing
        }
        Assert.Equal(100, pool.RentedCount);
        Assert.Equal(bytes, pool.RentedBytes);
        long blocks = owners.Where((_, i) => i % 2 == 1).Sum(o => (long)pool.BlockBytes(o.Memory.Length));
        Assert.Equal(blocks, allocator.LiveBytes);                          // the blocks behind the lengths, rounded as documented
        foreach (var owner in owners) owner.Dispose();
        Assert.Equal(0, pool.RentedCount);
        Assert.Equal(0, pool.RentedBytes);
        Assert.Equal(0, allocator.LiveCount);
    }

    [Fact]
    public void ADisposedOwnersMemoryPinAndEarlierMemoryThrow()
    {
        using var pool = new NativeMemoryPool(NativeHeap.Shared);
        IMemoryOwner<byte> owner = pool.Rent(256);
        Memory<byte> before = owner.Memory;
        before.Span[0] = 1;
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => owner.Memory);
        Assert.Throws<ObjectDisposedException>(() => before.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => before.Slice(10).Span.Length);
        Assert.Throws<ObjectDisposedException>(() => before.Pin());
        Assert.Throws<ObjectDisposedException>(() => ((MemoryManager<byte>)owner).GetSpan().Length);
    }

    [Fact]
    public void ASecondDisposeCannotFreeTheBlockOfTheNextRent()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20 });
        var allocator = new CountingAllocator(heap);
        using var pool = new NativeMemoryPool(allocator);
        IMemoryOwner<byte> first = pool.Rent(4096);
        byte* firstAddress = AddressOf(first.Memory);
        first.Dispose();
        IMemoryOwner<byte> second = pool.Rent(4096);
        Assert.NotSame(first, second);                                      // a new owner for every rent
        Assert.True(AddressOf(second.Memory) == firstAddress, "the heap's magazine hands the same block back");
        second.Memory.Span.Fill(0x77);
        first.Dispose();                                                    // the stale reference
        Assert.Equal(1, allocator.Frees);
        Assert.Equal(1, pool.RentedCount);
        Assert.Equal(4096, pool.RentedBytes);
        Assert.True(second.Memory.Span.IndexOfAnyExcept((byte)0x77) < 0);
        second.Dispose();
        Assert.Equal(2, allocator.Frees);
        Assert.Equal(0, allocator.LiveCount);
    }

    [Fact]
    public void PinGivesTheNativeAddressWithoutAGCHandle()
    {
        using var pool = new NativeMemoryPool(NativeHeap.Shared);
        using IMemoryOwner<byte> owner = pool.Rent(1000);
        byte* address = AddressOf(owner.Memory);
        FieldInfo? gcHandleField = typeof(MemoryHandle).GetField("_handle", BindingFlags.NonPublic | BindingFlags.Instance);
        Assert.NotNull(gcHandleField);
        using (MemoryHandle handle = owner.Memory.Pin())
        {
            Assert.True(handle.Pointer == address);
            Assert.False(((GCHandle)gcHandleField.GetValue(handle)!).IsAllocated);
        }
        using (MemoryHandle handle = owner.Memory.Slice(600).Pin())
            Assert.True(handle.Pointer == address + 600);
        var manager = (MemoryManager<byte>)owner;
        using (MemoryHandle end = manager.Pin(1000)) Assert.True(end.Pointer == address + 1000);
        Assert.Throws<ArgumentOutOfRangeException>(() => manager.Pin(1001));
        Assert.Throws<ArgumentOutOfRangeException>(() => manager.Pin(-1));
    }

    [Fact]
    public void TheMemoryIsNotArrayBacked()
    {
        using var pool = new NativeMemoryPool(NativeHeap.Shared);
        using IMemoryOwner<byte> owner = pool.Rent(100);
        Assert.False(MemoryMarshal.TryGetArray<byte>(owner.Memory, out _));
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(owner.Memory, out MemoryManager<byte>? manager));
        Assert.Same(owner, manager);
    }

    [Fact]
    public void AfterThePoolIsDisposedRentThrowsAndOwnersStayValid()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        var pool = new NativeMemoryPool(allocator);
        IMemoryOwner<byte> owner = pool.Rent(5000);
        owner.Memory.Span.Fill(9);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
        Assert.Throws<ObjectDisposedException>(() => pool.Rent(10));
        Assert.True(owner.Memory.Span.IndexOfAnyExcept((byte)9) < 0);
        Assert.Equal(1, pool.RentedCount);
        owner.Dispose();
        Assert.Equal(0, pool.RentedCount);
        Assert.Equal(0, pool.RentedBytes);
        Assert.Equal(0, allocator.LiveCount);
        pool.Dispose();                                                     // twice is fine
    }

    [Fact]
    public void AnAllocatorOutOfMemoryCountsNothing()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20, MaxBytes = 8 << 20 });
        using var pool = new NativeMemoryPool(heap);
        var e = Assert.Throws<AllocatorException>(() => pool.Rent(64 << 20));
        Assert.Equal(AllocError.NoMemory, e.Error);
        Assert.Equal(0, pool.RentedCount);
        Assert.Equal(0, pool.RentedBytes);
        using IMemoryOwner<byte> owner = pool.Rent(1 << 20);
        Assert.Equal(1, pool.RentedCount);
    }

    [Fact]
    public void AnOwnerNeverDisposedStaysRentedAndCounted()
    {
        var allocator = new CountingAllocator(NativeHeap.Shared);
        using var pool = new NativeMemoryPool(allocator);
        RentAndDrop(pool, 777);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(1, pool.RentedCount);                                  // owners have no finalizer: the leak shows
        Assert.Equal(777, pool.RentedBytes);
        Assert.Equal(1, allocator.LiveCount);
        Assert.Equal(0, allocator.Frees);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RentAndDrop(NativeMemoryPool pool, int size) => pool.Rent(size).Memory.Span.Fill(1);

    [Fact]
    public void ThreadsRentAndDisposeEachOthersBlocks()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 64 << 20 });
        var allocator = new CountingAllocator(heap);
        using var pool = new NativeMemoryPool(allocator);
        const int Threads = 4, PerThread = 20_000;
        var handoff = new System.Collections.Concurrent.BlockingCollection<(IMemoryOwner<byte> Owner, byte Mark)>(boundedCapacity: 256);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var renters = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var rng = new Random(100 + t);
            var kept = new Queue<(IMemoryOwner<byte>, byte)>();
            for (int i = 0; i < PerThread; i++)
            {
                IMemoryOwner<byte> owner = pool.Rent(rng.Next(1, 1 << rng.Next(1, 17)));
                byte mark = (byte)rng.Next(256);
                owner.Memory.Span.Fill(mark);
                if ((i & 1) == 0) handoff.Add((owner, mark));               // another thread checks and returns it
                else kept.Enqueue((owner, mark));
                if (kept.Count > 32) CheckAndDispose(kept.Dequeue());
            }
            while (kept.Count > 0) CheckAndDispose(kept.Dequeue());
        })).ToList();
        var returners = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            foreach (var item in handoff.GetConsumingEnumerable()) CheckAndDispose(item);
        })).ToList();

        void CheckAndDispose((IMemoryOwner<byte> Owner, byte Mark) item)
        {
            if (item.Owner.Memory.Span.IndexOfAnyExcept(item.Mark) >= 0) failures.Enqueue("a block changed while rented");
            item.Owner.Dispose();
        }

        returners.ForEach(t => t.Start());
        renters.ForEach(t => t.Start());
        renters.ForEach(t => t.Join());
        handoff.CompleteAdding();
        returners.ForEach(t => t.Join());
        Assert.Empty(failures);
        Assert.Equal(0, pool.RentedCount);
        Assert.Equal(0, pool.RentedBytes);
        Assert.Equal(Threads * PerThread, allocator.Allocations);
        Assert.Equal(Threads * PerThread, allocator.Frees);
    }
}
