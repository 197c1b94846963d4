namespace BuddySlab.Tests.Slab;

public class SizeClassTests
{
    [Fact]
    public void TheConstantSizeLookupMatchesTheClassTable()
    {
        byte[] expected = BuddySlab.Slab.SizeClassTable.BuildSizeLookup();
        Assert.Equal(expected, BuddySlab.Slab.SizeClassTable.SizeLookup);
        for (nuint size = 0; size <= SizeClass.MaxObjectSize; size++)
        {
            int cls = BuddySlab.Slab.SizeClassTable.DefaultClassOf(size);
            Assert.True(BuddySlab.Slab.SizeClassTable.Sizes[cls] >= size);
            if (cls > 0) Assert.True(BuddySlab.Slab.SizeClassTable.Sizes[cls - 1] < size, $"size {size} could use class {cls - 1}");
        }
    }

    [Fact]
    public void ClassesRunFrom8To8192AtMost25PercentApartAbove64AndAnEighthAbove128()
    {
        var classes = SizeClass.All().ToArray();
        Assert.Equal(57, classes.Length);
        Assert.Equal(BuddySlab.Slab.SizeClassTable.ClassCount, BuddySlab.Slab.SizeClassTable.Sizes.Length);   // inline per-class slots rely on it
        Assert.Equal(8, classes[0].ObjectSize);
        Assert.Equal(2048, classes[40].ObjectSize);
        Assert.Equal(8192, classes[^1].ObjectSize);
        Assert.Equal(SizeClass.MaxObjectSize, classes[^1].ObjectSize);
        for (int i = 1; i < classes.Length; i++)
        {
            Assert.True(classes[i].ObjectSize > classes[i - 1].ObjectSize);
            Assert.Equal(0, classes[i].ObjectSize % 16);
            if (classes[i - 1].ObjectSize >= 64)
                Assert.True(classes[i].ObjectSize * 4 <= classes[i - 1].ObjectSize * 5, $"{classes[i - 1].ObjectSize} -> {classes[i].ObjectSize}");
            if (classes[i - 1].ObjectSize >= 128)
                Assert.True(classes[i].ObjectSize * 8 <= classes[i - 1].ObjectSize * 9, $"{classes[i - 1].ObjectSize} -> {classes[i].ObjectSize}");
        }
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(4096)]
    [InlineData(16384)]
    [InlineData(65536)]
    public void EverySlabWastesLessThanASixteenthBelowEightPagesAndAlignsItsObjects(int pageSize)
    {
        foreach (var c in SizeClass.All(pageSize))
        {
            int slab = c.SlabBytes(pageSize);
            Assert.True((c.SlabPages & (c.SlabPages - 1)) == 0, "slab pages are a power of two");
            Assert.True(c.SlabPages <= BuddySlab.Slab.SizeClassTable.MaxSlabPages);
            // Only a slab of the most pages may hold fewer than 8 (the 8 KiB class with 1 KiB pages: 7).
            Assert.True(c.ObjectsPerSlab >= 8 || (c.SlabPages == BuddySlab.Slab.SizeClassTable.MaxSlabPages && c.ObjectsPerSlab >= 4),
                $"class {c.ObjectSize}: {c.ObjectsPerSlab} objects in {c.SlabPages} pages");
            Assert.Equal(0, c.FirstObjectOffset % c.Alignment);
            int natural = c.ObjectSize & -c.ObjectSize;
            Assert.Equal(c.ObjectSize > 2048 ? Math.Min(natural, 256) : natural, c.Alignment);
            Assert.True(c.FirstObjectOffset + c.ObjectsPerSlab * c.ObjectSize <= slab);
            long waste = slab - (long)c.ObjectsPerSlab * c.ObjectSize;
            if (c.SlabPages < BuddySlab.Slab.SizeClassTable.MaxSlabPages)
                Assert.True(waste * (c.SlabPages < 8 ? 16 : 8) < slab, $"class {c.ObjectSize}: {waste} of {slab} bytes wasted");
        }
    }

    [Fact]
    public void TheFourKiBTableMatchesItsPlan()
    {
        var c = SizeClass.All(4096);
        Assert.Equal((1, 486), (c[0].SlabPages, c[0].ObjectsPerSlab));      // 8 bytes
        Assert.Equal((1, 62), (c[4].SlabPages, c[4].ObjectsPerSlab));       // 64 bytes
        Assert.Equal((8, 15), (c[40].SlabPages, c[40].ObjectsPerSlab));     // 2048 bytes
        // Powers of two no longer give a whole object of a 1-page slab to the header: 2 pages hold 31 of 256 bytes.
        Assert.Equal((2, 31), (c[16].SlabPages, c[16].ObjectsPerSlab));     // 256 bytes
        Assert.Equal((4, 31), (c[24].SlabPages, c[24].ObjectsPerSlab));     // 512 bytes
        Assert.Equal((8, 31), (c[32].SlabPages, c[32].ObjectsPerSlab));     // 1024 bytes
        for (int i = 0; i <= 40; i++) Assert.True(c[i].SlabPages <= 8, $"class {c[i].ObjectSize}: {c[i].SlabPages} pages");
    }

    /// <summary>The classes above 2 KiB, exactly: size, slab pages, objects per slab, first object's offset (every one
    /// 256: the header, aligned to the classes' 256 bytes).</summary>
    [Fact]
    public void TheClassesAboveTwoKiBMatchTheirPlan()
    {
        (int Size, int Pages, int Objects)[] expected =
        [
            (2304, 8, 14), (2560, 8, 12), (2816, 8, 11), (3072, 8, 10), (3328, 8, 9), (3584, 8, 9), (3840, 8, 8), (4096, 16, 15),
            (4608, 16, 14), (5120, 16, 12), (5632, 16, 11), (6144, 16, 10), (6656, 16, 9), (7168, 16, 9), (7680, 16, 8), (8192, 32, 15),
        ];
        var c = SizeClass.All(4096).ToArray()[41..];
        Assert.Equal(expected, c.Select(x => (x.ObjectSize, x.SlabPages, x.ObjectsPerSlab)).ToArray());
        Assert.All(c, x => Assert.Equal((256, 256), (x.Alignment, x.FirstObjectOffset)));
        Assert.All(c, x => Assert.Equal(41 + Array.IndexOf(c, x), x.Index));
    }

    [Theory]
    [InlineData(2049, 2304)]
    [InlineData(2304, 2304)]
    [InlineData(2305, 2560)]
    [InlineData(3841, 4096)]
    [InlineData(4095, 4096)]
    [InlineData(4097, 4608)]
    [InlineData(4368, 4608)]
    [InlineData(7681, 8192)]
    [InlineData(8191, 8192)]
    public void TheConstantLookupServesTheClassesAboveTwoKiB(int size, int expected)
    {
        Assert.Equal(expected, BuddySlab.Slab.SizeClassTable.Sizes[BuddySlab.Slab.SizeClassTable.DefaultClassOf((nuint)size)]);
        Assert.True(SizeClass.TryFind((nuint)size, 16, out var c));
        Assert.Equal(expected, c.ObjectSize);
    }

    [Theory]
    [InlineData(0, 8, 8)]
    [InlineData(1, 8, 8)]
    [InlineData(8, 8, 8)]
    [InlineData(8, 16, 16)]
    [InlineData(9, 16, 16)]
    [InlineData(17, 16, 32)]
    [InlineData(33, 16, 48)]
    [InlineData(129, 16, 144)]
    [InlineData(130, 128, 256)]
    [InlineData(100, 64, 128)]
    [InlineData(1, 2048, 2048)]
    [InlineData(2048, 16, 2048)]
    [InlineData(1793, 8, 1920)]
    [InlineData(1921, 8, 2048)]
    [InlineData(2049, 16, 2304)]
    [InlineData(3000, 256, 3072)]
    [InlineData(5000, 64, 5120)]
    [InlineData(8000, 8, 8192)]
    [InlineData(2000, 2048, 2048)]
    public void ARequestMapsToTheSmallestClassThatFitsItsSizeAndAlignment(int size, int alignment, int expected)
    {
        Assert.True(SizeClass.TryFind((nuint)size, (nuint)alignment, out var c));
        Assert.Equal(expected, c.ObjectSize);
    }

    [Theory]
    [InlineData(8193, 8)]
    [InlineData(100_000, 16)]
    [InlineData(16, 4096)]
    [InlineData(2049, 4096)]
    [InlineData(2049, 512)]       // above 2 KiB, objects are aligned to 256 at most
    [InlineData(8000, 1024)]
    [InlineData(4096, 16)]        // whole pages above 2 KiB keep taking page runs
    [InlineData(8192, 8)]
    [InlineData(4096, 256)]
    public void LargerRequestsTakePages(int size, int alignment) =>
        Assert.False(SizeClass.TryFind((nuint)size, (nuint)alignment, out _));

    [Theory]
    [InlineData(1024, 3072, false)]    // a whole number of 1 KiB pages
    [InlineData(1024, 2048, true)]     // up to 2 KiB every size has a class, whatever the page size
    [InlineData(16384, 8192, true)]    // not a whole number of 16 KiB pages
    [InlineData(16384, 4096, true)]
    public void WholePagesAreCountedInTheTablesPageSize(int pageSize, int size, bool hasClass) =>
        Assert.Equal(hasClass, SizeClass.TryFind((nuint)size, 16, out _, pageSize));
}
