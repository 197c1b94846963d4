using System.Numerics;
using System.Runtime.InteropServices;


namespace BuddySlab.Tests.Heap;

/// <summary>
/// Long random runs checked step by step against two models: the reference algorithm (exact placement and
/// exhaustion) and a map of live blocks (no overlap, bounds, alignment, FreeBytes, what a bad free must say).
/// </summary>
public unsafe class ModelTests
{
    private const int Steps = 100_000;

    private readonly record struct Live(nuint Offset, nuint Size, nuint Alignment, int Order, byte Fill);

    [Theory]
    [InlineData(1, 256 * 1024, 14)]  // 32-byte minimum blocks
    [InlineData(2, 64 * 1024, 14)]   // 8-byte minimum blocks: the two links fill a free block exactly
    [InlineData(3, 1024 * 1024, 9)]  // 4096-byte minimum blocks: every alignment comes for free
    public void RandomOperationsMatchTheModels(int seed, int heapSizeInt, int orders)
    {
        var heapSize = (nuint)heapSizeInt;
        using var region = new NativeRegion(heapSize);
        var heap = new BuddyHeap(region.Pointer, heapSize, orders);
        var model = new Model(heap, region, orders);
        var random = new Random(seed);
        int maxBits = BitOperations.Log2(heapSize);

        for (int step = 0; step < Steps; step++)
        {
            int action = random.Next(100);
            if (action < 1)
                model.RequestInvalid(random);
            else if (action < 3)
                model.FreeBadly(random);
            else if (model.LiveCount == 0 || action < (heap.FreeBytes > heapSize / 4 ? 60 : 40))
                model.Allocate(RandomSize(random, maxBits), RandomAlignment(random));
            else
                model.FreeRandom(random);

            Assert.Equal(model.FreeBytes, heap.FreeBytes);
            if (step % 5000 == 0)
                model.CompareLists();
        }

        foreach (string outcome in new[] { "allocated", "exhausted", "BadAlignment", "TooLarge", "NotAllocated", "NotBlockStart", "SizeMismatch" })
            Assert.True(model.Seen.GetValueOrDefault(outcome) >= 20, $"{outcome}: {model.Seen.GetValueOrDefault(outcome)}");

        model.FreeAll(random);
        Assert.Equal(heapSize, heap.FreeBytes);
        model.CompareLists();
        Assert.True(heap.Allocate(heapSize, 1) == region.Pointer);
        heap.Deallocate(region.Pointer, heapSize, 1);
    }

    private static nuint RandomSize(Random random, int maxBits)
    {
        // Log-uniform, mostly well below half the heap, now and then up to the whole heap.
        int bits = random.Next(200) == 0 ? maxBits : random.Next(0, maxBits - 1);
        return (nuint)random.NextInt64(0, 1L << bits);
    }

    private static nuint RandomAlignment(Random random) =>
        (nuint)1 << (random.Next(4) == 0 ? random.Next(0, 13) : random.Next(0, 4));

    private sealed class Model
    {
        private readonly BuddyHeap _heap;
        private readonly NativeRegion _region;
        private readonly ReferenceBuddyModel _reference;
        private readonly nuint _minBlock;
        private readonly int _unitShift;
        private readonly int _units;
        private readonly List<Live> _live = new();
        private readonly Dictionary<nuint, int> _liveOrderAt = new();
        private readonly nuint[] _ownerPlusOne;        // per unit: start offset + 1 of the live block covering it
        private readonly ulong[] _occupied;            // per unit, one bit; units past the heap are set
        private readonly Queue<(nuint Offset, int Order)> _recentlyFreed = new();

        public Model(BuddyHeap heap, NativeRegion region, int orders)
        {
            _heap = heap;
            _region = region;
            _reference = new ReferenceBuddyModel(heap.HeapSize, orders);
            _minBlock = heap.MinBlockSize;
            _unitShift = BitOperations.Log2(_minBlock);
            _units = (int)(heap.HeapSize >> _unitShift);
            _ownerPlusOne = new nuint[_units];
            _occupied = new ulong[(_units + 63) / 64];
            for (int u = _units; u < _occupied.Length * 64; u++)
                _occupied[u / 64] |= 1UL << (u % 64);
            FreeBytes = heap.HeapSize;
        }

        public nuint FreeBytes { get; private set; }

        public int LiveCount => _live.Count;

        /// <summary>How often each outcome occurred: the run must have exercised all of them.</summary>
        public Dictionary<string, int> Seen { get; } = new();

        private void Count(string outcome) => Seen[outcome] = Seen.GetValueOrDefault(outcome) + 1;

        public void Allocate(nuint size, nuint alignment)
        {
            Assert.True(ExpectedBlock(size, alignment, out nuint blockSize, out _));
            int order = BitOperations.Log2(blockSize) - _unitShift;
            nuint? expected = _reference.Allocate(order);
            bool ok = _heap.TryAllocate(size, alignment, out void* block, out HeapAllocationError error);
            if (!ok)
            {
                Assert.Equal(HeapAllocationError.HeapExhausted, error);
                Assert.Null(expected);
                // With merging complete, exhaustion means no free aligned span of that size exists at all.
                Assert.False(HasFreeAlignedSpan(order));
                Count("exhausted");
                return;
            }

            nuint offset = _region.OffsetOf(block);
            Assert.Equal(expected, offset);
            Assert.True(offset < _heap.HeapSize && blockSize <= _heap.HeapSize - offset);
            Assert.Equal((nuint)0, (nuint)block % alignment);
            Assert.Equal((nuint)0, offset % blockSize);
            for (nuint u = offset >> _unitShift; u < (offset + blockSize) >> _unitShift; u++)
            {
                Assert.Equal((nuint)0, _ownerPlusOne[u]);
                _ownerPlusOne[u] = offset + 1;
                _occupied[u / 64] |= 1UL << (int)(u % 64);
            }
            // The owner may use the whole block; the heap must keep nothing in it.
            byte fill = (byte)(offset * 7 + 1);
            NativeMemory.Fill(block, blockSize, fill);
            _live.Add(new Live(offset, size, alignment, order, fill));
            _liveOrderAt.Add(offset, order);
            FreeBytes -= blockSize;
            Count("allocated");
        }

        public void FreeRandom(Random random)
        {
            int index = random.Next(_live.Count);
            Live live = _live[index];
            _live[index] = _live[^1];
            _live.RemoveAt(_live.Count - 1);
            _liveOrderAt.Remove(live.Offset);

            nuint blockSize = _minBlock << live.Order;
            byte* block = _region.At(live.Offset);
            Assert.Equal(-1, new ReadOnlySpan<byte>(block, (int)blockSize).IndexOfAnyExcept(live.Fill));
            // Any layout that maps to the same block size is the same block.
            if (random.Next(5) == 0)
                _heap.Deallocate(block, blockSize, 1);
            else
                _heap.Deallocate(block, live.Size, live.Alignment);
            _reference.Free(live.Offset, live.Order);

            for (nuint u = live.Offset >> _unitShift; u < (live.Offset + blockSize) >> _unitShift; u++)
            {
                _ownerPlusOne[u] = 0;
                _occupied[u / 64] &= ~(1UL << (int)(u % 64));
            }
            FreeBytes += blockSize;
            _recentlyFreed.Enqueue((live.Offset, live.Order));
            if (_recentlyFreed.Count > 16)
                _recentlyFreed.Dequeue();
        }

        public void FreeAll(Random random)
        {
            while (_live.Count > 0)
            {
                FreeRandom(random);
                Assert.Equal(FreeBytes, _heap.FreeBytes);
            }
        }

        public void RequestInvalid(Random random)
        {
            (nuint size, nuint alignment) = random.Next(4) switch
            {
                0 => ((nuint)random.Next(64), (nuint)3),
                1 => ((nuint)random.Next(64), (nuint)8192),
                2 => ((nuint)random.Next(64), (nuint)0),
                _ => (_heap.HeapSize + 1 + (nuint)random.Next(1000), (nuint)1),
            };
            Assert.False(ExpectedBlock(size, alignment, out _, out HeapAllocationError expected));
            Assert.False(_heap.TryAllocate(size, alignment, out _, out HeapAllocationError error));
            Assert.Equal(expected, error);
            Count(expected.ToString());
        }

        public void FreeBadly(Random random)
        {
            nuint offset;
            int order;
            switch (random.Next(3))
            {
                case 0 when _recentlyFreed.Count > 0:
                    (offset, order) = _recentlyFreed.ElementAt(random.Next(_recentlyFreed.Count));
                    break;
                case 1 when _live.Count > 0:
                    Live live = _live[random.Next(_live.Count)];
                    offset = live.Offset;
                    order = random.Next(_heap.Orders);
                    break;
                default:
                    offset = (nuint)random.NextInt64((long)_heap.HeapSize);
                    if (random.Next(2) == 0)
                        offset &= ~(_minBlock - 1);
                    order = random.Next(_heap.Orders);
                    break;
            }
            if (_liveOrderAt.TryGetValue(offset, out int liveOrder) && liveOrder == order)
                return; // that would be a valid free

            nuint owner = _ownerPlusOne[offset >> _unitShift];
            HeapDeallocationError expected = owner == 0 ? HeapDeallocationError.NotAllocated
                : owner - 1 == offset ? HeapDeallocationError.SizeMismatch
                : HeapDeallocationError.NotBlockStart;
            nuint blockSize = _minBlock << order;
            var thrown = Assert.Throws<BuddyHeapException>(() => _heap.Deallocate(_region.At(offset), blockSize, 1));
            Assert.Equal(expected, thrown.DeallocationError);
            Count(expected.ToString());
        }

        public void CompareLists()
        {
            _heap.CheckInvariants();
            var actual = _heap.FreeListOffsets();
            var expected = _reference.Snapshot();
            Assert.Equal(expected.Length, actual.Length);
            for (int k = 0; k < expected.Length; k++)
                Assert.Equal(expected[k], actual[k]);
        }

        private bool ExpectedBlock(nuint size, nuint alignment, out nuint blockSize, out HeapAllocationError error)
        {
            blockSize = 0;
            error = default;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 4096)
            {
                error = HeapAllocationError.BadAlignment;
                return false;
            }
            nuint needed = Math.Max(Math.Max(size, alignment), _minBlock);
            if (needed > _heap.HeapSize)
            {
                error = HeapAllocationError.TooLarge;
                return false;
            }
            blockSize = BitOperations.RoundUpToPowerOf2(needed);
            return true;
        }

        private bool HasFreeAlignedSpan(int order)
        {
            int span = 1 << order;
            if (span >= 64)
            {
                for (int w = 0; w < _occupied.Length; w += span / 64)
                {
                    if (_occupied.AsSpan(w, span / 64).IndexOfAnyExcept(0UL) < 0)
                        return true;
                }
                return false;
            }
            ulong starts = 0;
            for (int b = 0; b < 64; b += span)
                starts |= 1UL << b;
            foreach (ulong word in _occupied)
            {
                // After the loop, bit b is set iff units b .. b + span - 1 are all free.
                ulong free = ~word;
                for (int s = 1; s < span; s <<= 1)
                    free &= free >> s;
                if ((free & starts) != 0)
                    return true;
            }
            return false;
        }
    }
}
