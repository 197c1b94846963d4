namespace BuddySlab.Tests.Allocator;

/// <summary>
/// Memory parked in caches (thread run stacks and magazines, CPU page caches and depots, the shared depot, cached empty
/// slabs) never makes a request fail: when the buddy has nothing and the allocator cannot grow, the caches go back to
/// the buddy and the request is tried once more.
/// </summary>
public unsafe class ReclaimTests : IDisposable
{
    private readonly GlobalHarness _h = new(bytes: 4 << 20);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    /// <summary>How many objects of <paramref name="size"/> bytes (or runs of <paramref name="pages"/> pages) fit until
    /// the allocator refuses; they stay allocated.</summary>
    private static int Fill(GlobalAllocator a, List<nuint> taken, int size = 0, nuint pages = 0)
    {
        int n = 0;
        while (true)
        {
            nuint address = 0;
            bool ok = pages != 0 ? a.TryAllocatePages(pages, 4096, out address) : a.TryAllocate((nuint)size, 16, out void* p) && (address = (nuint)p) != 0;
            if (!ok) return n;
            taken.Add(address);
            n++;
        }
    }

    /// <summary>How many of the second kind the allocator holds when nothing is cached (then trimmed back to empty).</summary>
    private int CapacityAfterTrim(int size = 0, nuint pages = 0)
    {
        var taken = new List<nuint>();
        int n = Fill(A, taken, size, pages);
        Release(taken, pages);
        A.Trim();
        Assert.Equal(_h.StartAllocatedBytes, A.AllocatedBytes);
        return n;
    }

    private void Release(List<nuint> taken, nuint pages)
    {
        foreach (nuint p in taken)
        {
            if (pages != 0) A.FreePages(p, pages);
            else A.Free((void*)p);
        }
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(1, 16)]
    [InlineData(3, 32)]
    public void CachedPageRunsGoBackWhenTheBuddyRunsDry(int firstPages, int secondPages)
    {
        int capacity = CapacityAfterTrim(pages: (nuint)secondPages);
        var first = new List<nuint>();
        Fill(A, first, pages: (nuint)firstPages);
        Release(first, (nuint)firstPages);
        Assert.True(A.AllocatedBytes > _h.StartAllocatedBytes, "some runs are parked in caches");

        // The parked runs are of the wrong length for the second kind: without reclaiming them, fewer would fit.
        var second = new List<nuint>();
        Assert.Equal(capacity, Fill(A, second, pages: (nuint)secondPages));
        Release(second, (nuint)secondPages);
        _h.AssertAllPagesBack();
    }

    [Theory]
    [InlineData(64, 2048)]
    [InlineData(1024, 64)]
    [InlineData(2048, 0)]
    public void CachedObjectsGoBackWhenTheBuddyRunsDry(int firstSize, int secondSize)
    {
        // Objects of another class, or 4-page runs when secondSize is 0: the parked objects would keep their slabs.
        nuint pages = secondSize == 0 ? 4u : 0u;
        int capacity = CapacityAfterTrim(secondSize, pages);
        var first = new List<nuint>();
        Fill(A, first, size: firstSize);
        Release(first, 0);
        Assert.True(A.AllocatedBytes > _h.StartAllocatedBytes, "some objects are parked in magazines and depots");

        var second = new List<nuint>();
        Assert.Equal(capacity, Fill(A, second, secondSize, pages));
        Release(second, pages);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ARequestLargerThanTheHeapFailsWithoutReclaiming()
    {
        void* p = A.Allocate(64);
        A.Free(p);
        nuint held = A.AllocatedBytes;
        Assert.False(A.TryAllocatePages(A.ManagedBytes / 4096 + 1, 4096, out nuint none));
        Assert.Equal((nuint)0, none);
        Assert.Equal(held, A.AllocatedBytes);      // the magazine still holds its object: nothing was flushed for a hopeless request
    }
}
