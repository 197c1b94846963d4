using BuddySlab.Caches;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The classes between 2 KiB and 8 KiB through the global allocator: every class allocates and frees (sized and
/// unsized, on every page of its slabs), every free check holds on them (double, foreign, interior, misaligned),
/// alignments up to a page land on a class or on pages as the table says, whole numbers of pages stay page runs,
/// magazines stay small, and blocks freed on another thread go back.
/// </summary>
public unsafe class MidSizeClassTests : IDisposable
{
    private const int Page = 4096;
    private readonly GlobalHarness _h = new(bytes: 16 << 20);
    private GlobalAllocator A => _h.Allocator;

    private static SizeClass[] MidClasses => SizeClass.All().ToArray().Where(c => c.ObjectSize > 2048).ToArray();

    public void Dispose() => _h.Dispose();

    public static TheoryData<int> MidClassSizes()
    {
        var data = new TheoryData<int>();
        foreach (SizeClass c in MidClasses) data.Add(c.ObjectSize);
        return data;
    }

    /// <summary>Two slabs' worth of objects of the class (sizes from just past the class below up to the class's own, whole
    /// pages left out), each written whole, then freed: half unsized, half sized. Every object sits in a slab at its
    /// class's 256-byte alignment and answers the class's size; every page goes back.</summary>
    [Theory]
    [MemberData(nameof(MidClassSizes))]
    public void EveryClassAllocatesAndFreesWholeSlabs(int objectSize)
    {
        SizeClass c = MidClasses.Single(x => x.ObjectSize == objectSize);
        int below = SizeClass.All()[c.Index - 1].ObjectSize;
        var random = new Random(objectSize);
        var blocks = new List<(nint Address, int Size)>();
        for (int i = 0; i < 2 * c.ObjectsPerSlab; i++)
        {
            int size = random.Next(below + 1, objectSize + 1);
            if (size % Page == 0) size--;
            byte* p = (byte*)A.Allocate((nuint)size);
            nuint slab = (nuint)p & ~(nuint)(c.SlabBytes(Page) - 1);
            Assert.Equal((nuint)0, ((nuint)p - slab - 256) % (nuint)objectSize);   // objects follow the 256-byte header
            Assert.Equal(0, (long)p % 256);
            Assert.Equal((nuint)objectSize, A.UsableSize(p));
            new Span<byte>(p, objectSize).Fill((byte)i);
            blocks.Add(((nint)p, size));
        }
        Assert.Equal(blocks.Count, blocks.Select(b => b.Address).Distinct().Count());
        for (int i = 0; i < blocks.Count; i++)
        {
            byte* p = (byte*)blocks[i].Address;
            Assert.True(new Span<byte>(p + 8, objectSize - 8).IndexOfAnyExcept((byte)i) < 0, "no other block overlaps this one");
            if (i % 2 == 0) A.Free(p);
            else A.Free(p, (nuint)blocks[i].Size, 16);
        }
        _h.AssertAllPagesBack();
    }

    /// <summary>Each class's slab past 8 pages: objects on every one of its pages, freed unsized (one page record read,
    /// the object's own), then freed again (refused), and an interior and a misaligned pointer on every page refused, each
    /// with nothing changed.</summary>
    [Fact]
    public void EveryPageOfALargeSlabNamesItsClassAndEveryFreeCheckHolds()
    {
        foreach (SizeClass c in MidClasses.Where(x => x.SlabPages > 8))
        {
            var objects = Enumerable.Range(0, c.ObjectsPerSlab).Select(_ => (nuint)A.Allocate((nuint)c.ObjectSize - 1)).ToList();
            nuint slab = objects.Min() & ~(nuint)(c.SlabBytes(Page) - 1);
            Assert.All(objects, p => Assert.True(slab == (p & ~(nuint)(c.SlabBytes(Page) - 1)), $"class {c.ObjectSize}: 0x{p:x} outside the slab at 0x{slab:x}"));   // one slab: the class's first
            nuint end = slab + (nuint)c.FirstObjectOffset + (nuint)(c.ObjectsPerSlab * c.ObjectSize);
            for (nuint page = slab; page < end; page += Page)
            {
                nuint inside = page + 40;                         // on every page: a pointer into an object, or into the header
                Assert.NotEqual((nuint)0, (inside - slab - (nuint)c.FirstObjectOffset) % (nuint)c.ObjectSize);
                Refused(inside);
            }
            foreach (nuint p in objects)
            {
                Refused(p + 16);                                   // inside an object
                Refused(p + 8);                                    // not on an object boundary
            }
            foreach (nuint p in objects) A.Free((void*)p);
            foreach (nuint p in objects.Take(6)) Refused(p);       // a second free of an object in a magazine or its slab
        }
        _h.AssertAllPagesBack();
    }

    private void Refused(nuint address)
    {
        nuint before = A.AllocatedBytes;
        var e = Assert.Throws<AllocatorException>(() => A.Free((void*)address));
        Assert.Equal(AllocError.NotAllocated, e.Error);
        Assert.False(A.TryFree((void*)address, out AllocError error));
        Assert.Equal(AllocError.NotAllocated, error);
        Assert.Equal(before, A.AllocatedBytes);
    }

    /// <summary>A pointer of another allocator, and a mid-size object freed with a size of another class, are refused.</summary>
    [Fact]
    public void ForeignPointersAndWrongSizesAreRefused()
    {
        using var other = new GlobalHarness(bytes: 4 << 20);
        void* foreign = other.Allocator.Allocate(4368);
        Assert.Throws<AllocatorException>(() => A.Free(foreign));
        Assert.Throws<AllocatorException>(() => A.Free(foreign, 4368, 16));
        other.Allocator.Free(foreign);

        void* p = A.Allocate(4368);
        Assert.Throws<AllocatorException>(() => A.Free(p, 3000, 16));      // the 3072-byte class
        Assert.Throws<AllocatorException>(() => A.Free(p, 9000, 16));      // pages
        A.Free(p, 4500, 16);                                               // the same class: accepted
        void* q = A.Allocate(4000);                                        // the 4096-byte class
        nuint allocated = A.AllocatedBytes;
        Assert.Throws<AllocatorException>(() => A.Free(q, 4096, 16));      // a whole page is a page run's size, not the class's
        Assert.Equal(allocated, A.AllocatedBytes);
        A.Free(q, 4095, 16);
        _h.AssertAllPagesBack();
    }

    /// <summary>Every power-of-two alignment up to a page, for sizes above 2 KiB: aligned, at least the size, from the class
    /// of the size when the alignment is 256 or less and from whole pages otherwise; freed sized and unsized.</summary>
    [Fact]
    public void AlignmentsUpToAPageLandOnAClassOrOnPages()
    {
        foreach (int size in new[] { 2049, 3000, 4095, 4368, 6000, 8000, 8191 })
        {
            for (int alignment = 8; alignment <= Page; alignment *= 2)
            {
                byte* p = (byte*)A.Allocate((nuint)size, (nuint)alignment);
                Assert.Equal(0, (long)p % alignment);
                nuint usable = A.UsableSize(p);
                bool slab = SizeClass.TryFind((nuint)size, (nuint)alignment, out SizeClass c);
                Assert.Equal(alignment <= 256, slab);
                Assert.Equal(slab ? (nuint)c.ObjectSize : (nuint)((size + Page - 1) / Page * Page), usable);
                new Span<byte>(p, size).Fill(0x5A);
                if (alignment % 2048 == 0) A.Free(p);
                else A.Free(p, (nuint)size, (nuint)alignment);
            }
        }
        _h.AssertAllPagesBack();
    }

    /// <summary>Whole numbers of pages above 2 KiB stay page runs (page-aligned, exactly their size), also when reached by
    /// <see cref="GlobalAllocator.Reallocate"/>; a mid-size block moves between a class and pages as its size says.</summary>
    [Fact]
    public void WholePagesStayPageRunsAndReallocateFollowsTheTable()
    {
        foreach (int size in new[] { 4096, 8192 })
        {
            void* p = A.Allocate((nuint)size);
            Assert.Equal(0, (long)p % Page);
            Assert.Equal((nuint)size, A.UsableSize(p));
            A.Free(p, (nuint)size, 16);
        }
        byte* q = (byte*)A.Allocate(4368);
        for (int i = 0; i < 4368; i++) q[i] = (byte)i;
        Assert.Equal((nint)q, (nint)A.Reallocate(q, 4500));                // the same class: in place
        byte* run = (byte*)A.Reallocate(q, 8192);                           // whole pages: moved to a run
        Assert.Equal(0, (long)run % Page);
        for (int i = 0; i < 4368; i++) Assert.Equal((byte)i, run[i]);
        byte* back = (byte*)A.Reallocate(run, 5000);                        // a class again: moved to its slab
        Assert.NotEqual((nint)run, (nint)back);
        Assert.Equal((nuint)5120, A.UsableSize(back));
        for (int i = 0; i < 4368; i++) Assert.Equal((byte)i, back[i]);
        A.Free(back);
        _h.AssertAllPagesBack();
    }

    /// <summary>Magazines of the classes above 2 KiB hold at most 16 KiB of objects and at least 2 objects; the smaller
    /// classes keep theirs (16 to 128 objects).</summary>
    [Fact]
    public void MagazinesOfTheMidClassesStaySmall()
    {
        Assert.Equal(
            [7, 6, 5, 5, 4, 4, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2],
            MidClasses.Select(c => Magazine.CapacityFor(c.ObjectSize)).ToArray());
        Assert.All(MidClasses, c => Assert.True(Magazine.CapacityFor(c.ObjectSize) * c.ObjectSize <= Magazine.LargeObjectBytes));
        Assert.Equal(16, Magazine.CapacityFor(2048));
        Assert.Equal(16, Magazine.CapacityFor(1024));
        Assert.Equal(128, Magazine.CapacityFor(64));
    }

    /// <summary>Producer threads allocate mid-size blocks (fixed seeds), write them whole and hand them to consumer threads,
    /// which check and free them (sized and unsized, alternately): every block arrives intact, nothing is handed out twice
    /// while live, and once all threads have flushed, every page goes back.</summary>
    [Fact]
    public void BlocksFreedOnOtherThreadsGoBack()
    {
        const int Pairs = 2, PerProducer = 4000;
        var queues = Enumerable.Range(0, Pairs).Select(_ => new System.Collections.Concurrent.BlockingCollection<(nint, int)>(256)).ToArray();
        var live = new System.Collections.Concurrent.ConcurrentDictionary<nint, int>();
        var threads = new List<Thread>();
        Exception? failure = null;
        for (int t = 0; t < Pairs; t++)
        {
            int pair = t;
            threads.Add(new Thread(() => Guard(() =>
            {
                var random = new Random(100 + pair);
                for (int i = 0; i < PerProducer; i++)
                {
                    int size = random.Next(2049, SizeClass.MaxObjectSize + 1);
                    byte* p = (byte*)A.Allocate((nuint)size);
                    if (!live.TryAdd((nint)p, size)) throw new InvalidOperationException($"0x{(nint)p:x} handed out twice");
                    new Span<byte>(p, size).Fill((byte)size);
                    queues[pair].Add(((nint)p, size));
                }
                queues[pair].CompleteAdding();
                A.FlushThreadCache();
            })));
            threads.Add(new Thread(() => Guard(() =>
            {
                int n = 0;
                foreach ((nint p, int size) in queues[pair].GetConsumingEnumerable())
                {
                    if (new Span<byte>((byte*)p, size).IndexOfAnyExcept((byte)size) >= 0) throw new InvalidOperationException($"0x{p:x} was overwritten");
                    live.TryRemove(p, out _);
                    if (n++ % 2 == 0) A.Free((void*)p);
                    else A.Free((void*)p, (nuint)size, 16);
                }
                A.FlushThreadCache();
            })));
        }
        foreach (Thread thread in threads) thread.Start();
        foreach (Thread thread in threads) thread.Join();
        Assert.Null(failure);
        Assert.Empty(live);
        _h.AssertAllPagesBack();

        void Guard(Action body)
        {
            try { body(); }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                foreach (var q in queues) q.CompleteAdding();
            }
        }
    }
}
