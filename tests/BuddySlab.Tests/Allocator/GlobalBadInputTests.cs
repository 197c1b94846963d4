namespace BuddySlab.Tests.Allocator;

/// <summary>Each bad pointer gets an <see cref="AllocatorException"/> naming it, and the heap stays consistent.</summary>
public unsafe class GlobalBadInputTests : IDisposable
{
    private readonly GlobalHarness _h = new();
    private readonly NativeRegion _foreign = new(1 << 16);
    private readonly byte* _small;
    private readonly byte* _large;
    private GlobalAllocator A => _h.Allocator;

    public GlobalBadInputTests()
    {
        _small = (byte*)A.Allocate(100);
        _large = (byte*)A.Allocate(20000);
        new Span<byte>(_small, 100).Fill(7);
    }

    public void Dispose()
    {
        _h.Dispose();
        _foreign.Dispose();
    }

    private void Rejects(AllocError error, Action call, nuint address)
    {
        nuint before = A.AllocatedBytes;
        var e = Assert.Throws<AllocatorException>(call);
        Assert.Equal(error, e.Error);
        Assert.Contains($"0x{address:x}", e.Message);
        Assert.Equal(before, A.AllocatedBytes);
        // Still consistent: the live blocks are intact and can be freed, everything comes back.
        Assert.True(new Span<byte>(_small, 100).IndexOfAnyExcept((byte)7) < 0);
        BuddyInspector.CheckInvariants(A.Buddy);
    }

    [Fact]
    public void ForeignPointersAreNotFound()
    {
        Rejects(AllocError.NotFound, () => A.Free(_foreign.Pointer), _foreign.Address);
        Rejects(AllocError.NotFound, () => A.UsableSize(_foreign.Pointer), _foreign.Address);
        Rejects(AllocError.NotFound, () => A.Reallocate(_foreign.Pointer, 10), _foreign.Address);
        Rejects(AllocError.NotFound, () => A.Free(_foreign.Pointer, 100, 16), _foreign.Address);
    }

    [Fact]
    public void InteriorAndMisalignedPointersAreNotAllocated()
    {
        Rejects(AllocError.NotAllocated, () => A.Free(_small + 8), (nuint)(_small + 8));
        Rejects(AllocError.NotAllocated, () => A.Free(_small + 1), (nuint)(_small + 1));
        Rejects(AllocError.NotAllocated, () => A.Free(_small + 8, 100, 16), (nuint)(_small + 8));
        Rejects(AllocError.NotAllocated, () => A.Free(_large + 4096), (nuint)(_large + 4096));
        Rejects(AllocError.NotAllocated, () => A.UsableSize(_large + 16), (nuint)(_large + 16));
        Rejects(AllocError.NotAllocated, () => A.Free(_h.Region.Pointer + 64), (nuint)(_h.Region.Pointer + 64));   // metadata
    }

    [Fact]
    public void DoubleFreesAreCaughtForObjectsAndPages()
    {
        void* p = A.Allocate(100);
        A.Free(p);
        Rejects(AllocError.NotAllocated, () => A.Free(p), (nuint)p);
        Rejects(AllocError.NotAllocated, () => A.Free(p, 100, 16), (nuint)p);
        Rejects(AllocError.NotAllocated, () => A.UsableSize(p), (nuint)p);
        void* q = A.Allocate(9000);
        A.Free(q);
        Rejects(AllocError.NotAllocated, () => A.Free(q), (nuint)q);
        Rejects(AllocError.NotAllocated, () => A.Free(q, 9000, 16), (nuint)q);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(2048)]
    public void EverySlotOfALiveSlabButTheLiveOneIsRefused(int size)
    {
        // Slots never handed out, slots in this thread's magazine, slots free in the slab: all refused, sized or not.
        SizeClass c = SizeClass.All().ToArray().First(k => k.ObjectSize >= size);
        byte* p = (byte*)A.Allocate((nuint)size);
        nuint slab = (nuint)p & ~(nuint)(c.SlabBytes(4096) - 1);
        nuint first = slab + (nuint)c.FirstObjectOffset;
        for (int i = 0; i < c.ObjectsPerSlab; i++)
        {
            nuint slot = first + (nuint)(i * c.ObjectSize);
            if (slot == (nuint)p) continue;
            Rejects(AllocError.NotAllocated, () => A.Free((void*)slot), slot);
            Rejects(AllocError.NotAllocated, () => A.Free((void*)slot, (nuint)size, size >= 16 ? 16u : 8u), slot);
        }
        A.Free(p);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(2048)]
    public void ALiveObjectHoldingTheFreeMarkIsStillFreedOnce(int size)
    {
        // The program may store anything, even the very value a free object carries: the free checks and goes on.
        void* p = A.Allocate((nuint)size);
        void* q = A.Allocate((nuint)size);
        *(nuint*)p = (nuint)p ^ A.FreeMarkCookie;
        *(nuint*)q = (nuint)q ^ A.FreeMarkCookie;
        A.Free(p);
        A.Free(q, (nuint)size, size >= 16 ? 16u : 8u);
        Rejects(AllocError.NotAllocated, () => A.Free(p), (nuint)p);
        Rejects(AllocError.NotAllocated, () => A.Free(q), (nuint)q);
        Assert.Equal((nint)q, (nint)A.Allocate((nuint)size));
        Assert.Equal((nint)p, (nint)A.Allocate((nuint)size));
        A.Free(p);
        A.Free(q);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(2048)]
    public void ALiveObjectHoldingHalfTheFreeMarkIsFreedOnceAndStaysCaught(int size)
    {
        // The free compares only the mark's low half; a program value that matches it there, but not above, is a live
        // object all the same, and its own second free is still refused.
        void* p = A.Allocate((nuint)size);
        void* q = A.Allocate((nuint)size);
        *(nuint*)p = ((nuint)p ^ A.FreeMarkCookie) ^ ((nuint)1 << 40);
        *(nuint*)q = ((nuint)q ^ A.FreeMarkCookie) ^ ((nuint)1 << 63);
        A.Free(p);
        A.Free(q, (nuint)size, 16);
        Rejects(AllocError.NotAllocated, () => A.Free(p), (nuint)p);
        Rejects(AllocError.NotAllocated, () => A.Free(q, (nuint)size, 16), (nuint)q);
        Assert.Equal((nint)q, (nint)A.Allocate((nuint)size));
        Assert.Equal((nint)p, (nint)A.Allocate((nuint)size));
        A.Free(p);
        A.Free(q);
    }

    [Fact]
    public void SizedFreesWithTheWrongSizeAreRejected()
    {
        Rejects(AllocError.NotAllocated, () => A.Free(_small, 16, 16), (nuint)_small);          // another class
        Rejects(AllocError.NotAllocated, () => A.Free(_small, 5000, 16), (nuint)_small);        // as pages
        Rejects(AllocError.NotAllocated, () => A.Free(_large, 100, 16), (nuint)_large);         // as an object
        Rejects(AllocError.NotAllocated, () => A.Free(_large, 4096, 16), (nuint)_large);        // wrong page count
        Rejects(AllocError.NotAllocated, () => A.FreePages((nuint)_small & ~(nuint)4095, 1), (nuint)_small & ~(nuint)4095);  // a slab
        A.Free(_small, 100, 16);
        A.Free(_large, 20000, 16);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void BadAlignmentsAndOverflowingSizes()
    {
        var e = Assert.Throws<AllocatorException>(() => A.Allocate(10, 3));
        Assert.Equal(AllocError.InvalidParam, e.Error);
        Assert.Throws<AllocatorException>(() => A.TryAllocate(10, 0, out _));
        e = Assert.Throws<AllocatorException>(() => A.Allocate(nuint.MaxValue - 10));
        Assert.Equal(AllocError.NoMemory, e.Error);
        Assert.False(A.TryAllocate(nuint.MaxValue, 16, out void* none));
        Assert.True(none == null);
        Assert.False(A.TryAllocate((nuint)1 << 40, 16, out none));
        Assert.True(none == null);
        A.Free(null);   // like free(NULL): nothing happens
    }

    [Fact]
    public void AnUninitializedAllocatorRefusesEverything()
    {
        var g = new GlobalAllocator();
        Assert.False(g.IsInitialized);
        void Expect(Action a) => Assert.Equal(AllocError.NotInitialized, Assert.Throws<AllocatorException>(a).Error);
        Expect(() => g.Allocate(10));
        Expect(() => g.TryAllocate(10, 8, out _));
        Expect(() => g.Free(_small));
        Expect(() => g.Free(_small, 100, 16));
        Expect(() => g.Reallocate(_small, 5));
        Expect(() => g.UsableSize(_small));
        Expect(() => g.AllocatePages(1, 4096));
        Expect(() => g.FreePages(4096, 1));
        Expect(() => g.AddRegion(_foreign.Pointer, _foreign.Size));
        Expect(() => g.Trim());
        Expect(() => g.GetSection(0));
        Assert.Equal((nuint)0, g.AllocatedBytes);
        Assert.Equal(0, g.SectionCount);
    }

    [Fact]
    public void InitTwiceAndBadPageSizesAreRejected()
    {
        var e = Assert.Throws<AllocatorException>(() => A.Init(_foreign.Pointer, _foreign.Size));
        Assert.Equal(AllocError.AlreadyInitialized, e.Error);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GlobalAllocator(512));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GlobalAllocator(5000));
        var tooSmall = new GlobalAllocator();
        Assert.Equal(AllocError.InvalidParam, Assert.Throws<AllocatorException>(() => tooSmall.Init(_foreign.Pointer, 100)).Error);
        Assert.False(tooSmall.IsInitialized);
    }
}
