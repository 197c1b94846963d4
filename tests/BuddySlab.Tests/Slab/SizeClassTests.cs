namespace BuddySlab.Tests.Slab;

public class SizeClassTests
{
    [Fact]
    public void TheConstantSizeLookupMatchesTheClassTable()
    {
        byte[] expected = BuddySlab.Slab.SizeClassTable.BuildSizeLookup();
        Assert.Equal(expected, BuddySlab.Slab.SizeClassTable.SizeLookup);
        for (nuint size = 0; size <= 2048; size++)
        {
            int cls = BuddySlab.Slab.SizeClassTable.DefaultClassOf(size);
            Assert.True(BuddySlab.Slab.SizeClassTable.Sizes[cls] >= size);
            if (cls > 0) Assert.True(BuddySlab.Slab.SizeClassTable.Sizes[cls - 1] < size, $"size {size} could use class {cls - 1}");
        }
    }

    [Fact]
    public void ClassesRunFrom8To2048AtMost25PercentApartAbove64AndAnEighthAbove128()
    {
        var classes = SizeClass.All().ToArray();
        Assert.Equal(41, classes.Length);
        Assert.Equal(BuddySlab.Slab.SizeClassTable.ClassCount, BuddySlab.Slab.SizeClassTable.Sizes.Length);   // inline per-class slots rely on it
        Assert.Equal(8, classes[0].ObjectSize);
        Assert.Equal(2048, classes[^1].ObjectSize);
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
            Assert.True(c.ObjectsPerSlab >= 8);
            Assert.Equal(0, c.FirstObjectOffset % c.Alignment);
            Assert.Equal(c.ObjectSize & -c.ObjectSize, c.Alignment);
            Assert.True(c.FirstObjectOffset + c.ObjectsPerSlab * c.ObjectSize <= slab);
            long waste = slab - (long)c.ObjectsPerSlab * c.ObjectSize;
            Assert.True(waste * (c.SlabPages < 8 ? 16 : 8) < slab, $"class {c.ObjectSize}: {waste} of {slab} bytes wasted");
        }
    }

    [Fact]
    public void TheFourKiBTableMatchesItsPlan()
    {
        var c = SizeClass.All(4096);
        Assert.Equal((1, 486), (c[0].SlabPages, c[0].ObjectsPerSlab));      // 8 bytes
        Assert.Equal((1, 62), (c[4].SlabPages, c[4].ObjectsPerSlab));       // 64 bytes
        Assert.Equal((8, 15), (c[^1].SlabPages, c[^1].ObjectsPerSlab));     // 2048 bytes
        // Powers of two no longer give a whole object of a 1-page slab to the header: 2 pages hold 31 of 256 bytes.
        Assert.Equal((2, 31), (c[16].SlabPages, c[16].ObjectsPerSlab));     // 256 bytes
        Assert.Equal((4, 31), (c[24].SlabPages, c[24].ObjectsPerSlab));     // 512 bytes
        Assert.Equal((8, 31), (c[32].SlabPages, c[32].ObjectsPerSlab));     // 1024 bytes
        Assert.All(c.ToArray(), x => Assert.True(x.SlabPages <= 8, $"class {x.ObjectSize}: {x.SlabPages} pages"));
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
    public void ARequestMapsToTheSmallestClassThatFitsItsSizeAndAlignment(int size, int alignment, int expected)
    {
        Assert.True(SizeClass.TryFind((nuint)size, (nuint)alignment, out var c));
        Assert.Equal(expected, c.ObjectSize);
    }

    [Theory]
    [InlineData(2049, 8)]
    [InlineData(16, 4096)]
    public void LargerRequestsTakePages(int size, int alignment) =>
        Assert.False(SizeClass.TryFind((nuint)size, (nuint)alignment, out _));
}
