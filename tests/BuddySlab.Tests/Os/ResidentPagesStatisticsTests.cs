namespace BuddySlab.Tests.Os;

/// <summary>
/// What the resident-bytes statistic rests on: <c>mincore</c> over a mapping this test controls, page by page.
/// </summary>
public unsafe class ResidentPagesStatisticsTests
{
    [Fact]
    public void PagesCountAsResidentOnceTouchedAndNoLongerOnceDiscarded()
    {
        if (!ResidentPages.IsSupported)
        {
            Assert.Equal((nuint)0, ResidentPages.Count(4096, 8192));
            return;
        }
        nuint page = (nuint)Environment.SystemPageSize;
        nuint bytes = 256 * page;                                    // less than a huge page: no transparent huge page
        var region = (byte*)OsMemory.Reserve(bytes, page);
        Assert.True(region != null);
        try
        {
            nuint start = (nuint)region;
            Assert.Equal((nuint)0, ResidentPages.Count(start, start + bytes));       // mapped, never touched
            region[0] = 1;
            region[7 * page + 5] = 1;
            region[255 * page] = 1;
            Assert.Equal(3 * page, ResidentPages.Count(start, start + bytes));
            Assert.Equal(page, ResidentPages.Count(start + 7 * page + 100, start + 7 * page + 200));   // widened to whole pages
            Assert.Equal((nuint)0, ResidentPages.Count(start + page, start + 7 * page));
            OsMemory.Discard(start + 7 * page, page);
            Assert.Equal(2 * page, ResidentPages.Count(start, start + bytes));
        }
        finally
        {
            OsMemory.Release(region, bytes);
        }
        Assert.Equal((nuint)0, ResidentPages.Count((nuint)region, (nuint)region + bytes));   // unmapped: an error, not a fault
    }

    [Fact]
    public void ARangeLongerThanOneChunkIsCountedWhole()
    {
        if (!ResidentPages.IsSupported) return;
        nuint page = (nuint)Environment.SystemPageSize;
        using var region = new NativeRegion(20_000 * page, page);
        System.Runtime.InteropServices.NativeMemory.Fill(region.Pointer, region.Size, 1);   // every page resident
        Assert.Equal(region.Size, ResidentPages.Count(region.Address, region.Address + region.Size));
    }
}
