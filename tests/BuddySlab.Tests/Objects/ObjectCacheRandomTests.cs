namespace BuddySlab.Tests.Objects;

/// <summary>
/// Long random sequences of allocations and frees, checked after every step against a model: the set
/// of live pointers (each object carries a pattern checked before it is freed), the occupancy of every
/// slab (from which full, partial and empty counts follow), and the rule that an allocation comes from
/// one of the fullest partial slabs. Bad frees and trims are mixed in.
/// </summary>
public unsafe class ObjectCacheRandomTests
{
    private const int Steps = 50_000;

    [Theory]
    [InlineData("Obj64", 4096u, ObjectSizeType.Small, 1)]
    [InlineData("Obj64", 8192u, ObjectSizeType.Small, 2)]
    [InlineData("Obj64", 4096u, ObjectSizeType.Large, 3)]
    [InlineData("byte", 4096u, ObjectSizeType.Small, 4)]
    [InlineData("Odd24", 16384u, ObjectSizeType.Small, 5)]
    [InlineData("Odd12", 4096u, ObjectSizeType.Large, 6)]
    [InlineData("Aligned16", 8192u, ObjectSizeType.Large, 7)]
    [InlineData("Obj128", 4096u, ObjectSizeType.Small, 8)]
    [InlineData("Big1000", 8192u, ObjectSizeType.Small, 9)]
    [InlineData("Big4000", 16384u, ObjectSizeType.Large, 10)]
    public void RandomSequencesMatchTheModel(string type, uint slabSize, ObjectSizeType sizeType, int seed)
    {
        switch (type)
        {
            case "Obj64": Run<Obj64>(slabSize, sizeType, seed); break;
            case "byte": Run<byte>(slabSize, sizeType, seed); break;
            case "Odd24": Run<Odd24>(slabSize, sizeType, seed); break;
            case "Odd12": Run<Odd12>(slabSize, sizeType, seed); break;
            case "Aligned16": Run<Aligned16>(slabSize, sizeType, seed); break;
            case "Obj128": Run<Obj128>(slabSize, sizeType, seed); break;
            case "Big1000": Run<Big1000>(slabSize, sizeType, seed); break;
            case "Big4000": Run<Big4000>(slabSize, sizeType, seed); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    private static void Run<T>(uint slabSize, ObjectSizeType sizeType, int seed) where T : unmanaged
    {
        var random = new Random(seed);
        using var backend = new RecordingBackend { Recording = false };
        var cache = new ObjectCache<T>(slabSize, 4096, sizeType, backend);
        nuint n = cache.Statistics.ObjectsPerSlab;
        nuint stride = cache.Statistics.ObjectSize;
        int shift = SlabBuckets.ShiftFor(n);

        var live = new List<(nint Pointer, int Id)>();
        var liveSet = new HashSet<nint>();
        var perSlab = new Dictionary<nuint, nuint>(); // slab base -> live objects, for slabs with any
        nuint full = 0;
        int nextId = 0;
        // Swing between growing and shrinking so that slabs are created, filled, drained and returned.
        int peak = (int)Math.Max(n * 12, 300);

        for (int step = 0; step < Steps; step++)
        {
            double phase = Math.Sin(step * 2 * Math.PI / 9000);
            double allocateChance = live.Count == 0 ? 1 : live.Count >= peak ? 0 : 0.5 + 0.2 * phase;
            int action = random.Next(1000);

            if (action < 3 && live.Count > 0)
            {
                // A bad free in the middle of the run changes nothing.
                var before = cache.Statistics;
                nint target = live[random.Next(live.Count)].Pointer + (nint)(1 + (nuint)random.Next((int)stride - 1));
                Assert.Throws<AllocatorException>(() => cache.Free((T*)target));
                Assert.Equal(before, cache.Statistics);
            }
            else if (action < 5)
            {
                bool hadEmpty = (nuint)backend.OutstandingSlabs > (nuint)perSlab.Count;
                Assert.Equal(hadEmpty, cache.Trim());
            }
            else if (random.NextDouble() < allocateChance)
            {
                // Which occupancy bucket must the object come from? The fullest partial one, if any.
                int wantedBucket = -1;
                foreach (nuint count in perSlab.Values)
                {
                    if (count < n)
                        wantedBucket = Math.Max(wantedBucket, (int)(count >> shift));
                }

                T* p = cache.Allocate();
                nint address = (nint)p;
                Assert.True(address != 0);
                Assert.Equal((nuint)0, (nuint)address % cache.ObjectAlignment);
                Assert.True(liveSet.Add(address), $"step {step}: 0x{address:x} handed out twice");
                nuint slab = backend.SlabOf((nuint)address);
                Assert.True(slab != 0, $"step {step}: 0x{address:x} is in no slab");
                Assert.True((nuint)address + stride <= slab + slabSize);
                Assert.Equal((nuint)0, ((nuint)address - slab) % stride);
                perSlab.TryGetValue(slab, out nuint occupancy);
                if (wantedBucket >= 0)
                    Assert.Equal(wantedBucket, (int)(occupancy >> shift));
                perSlab[slab] = occupancy + 1;
                if (occupancy + 1 == n)
                    full++;

                int id = nextId++;
                Pattern.Write(p, id);
                live.Add((address, id));
            }
            else if (live.Count > 0)
            {
                int i = random.Next(live.Count);
                var (address, id) = live[i];
                live[i] = live[^1];
                live.RemoveAt(live.Count - 1);
                liveSet.Remove(address);
                Assert.True(Pattern.Check((T*)address, id), $"step {step}: object 0x{address:x} was corrupted");

                nuint slab = backend.SlabOf((nuint)address);
                cache.Free((T*)address);
                if (perSlab[slab] == n)
                    full--;
                if (--perSlab[slab] == 0)
                    perSlab.Remove(slab);
            }

            var s = cache.Statistics;
            nuint slabs = (nuint)backend.OutstandingSlabs;
            nuint empty = slabs - (nuint)perSlab.Count;
            Assert.True(empty <= 1, $"step {step}: {empty} empty slabs held");
            Assert.Equal(new ObjectCacheStatistics(stride, n, slabs, full, (nuint)perSlab.Count - full,
                (nuint)live.Count, slabs * n - (nuint)live.Count, slabs * slabSize), s);
        }

        foreach (var (address, id) in live)
            Assert.True(Pattern.Check((T*)address, id));
        cache.Dispose();
        Assert.Equal(0, backend.OutstandingSlabs);
        Assert.Equal(0, backend.OutstandingInfos);
        Assert.Equal(0, backend.SavedPages);
    }
}
