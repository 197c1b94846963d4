namespace BuddySlab.Tests.Slab;

/// <summary>The free path's position test accepts exactly the offsets that start an object, and answers its index.</summary>
public class SlabClassInfoTests
{
    [Theory]
    [InlineData(1024)]
    [InlineData(4096)]
    [InlineData(16384)]
    public void EveryByteOfEverySlabIsJudgedExactly(int pageSize)
    {
        SizeClassTable table = SizeClassTable.For(pageSize);
        for (int cls = 0; cls < table.Classes.Length; cls++)
        {
            SizeClass c = table.Classes[cls];
            SlabClassInfo info = SlabClassInfo.For(table, cls);
            long span = (long)c.ObjectsPerSlab * c.ObjectSize;
            // Every offset from well below the first object (they wrap to huge values) to past the slab's end.
            for (long offset = -c.FirstObjectOffset - 64; offset < table.SlabBytes[cls] + 64; offset++)
            {
                ulong index = info.IndexOf((nuint)offset);
                bool isObject = offset >= 0 && offset < span && offset % c.ObjectSize == 0;
                if (isObject) Assert.Equal((ulong)(offset / c.ObjectSize), index);
                else Assert.True(index >= info.Count, $"class {c.ObjectSize}: offset {offset} taken for object {index}");
            }
        }
    }

    [Fact]
    public void FarOffsetsAreNeverObjects()
    {
        SizeClassTable table = SizeClassTable.For(4096);
        var random = new Random(5);
        for (int cls = 0; cls < table.Classes.Length; cls++)
        {
            SlabClassInfo info = SlabClassInfo.For(table, cls);
            for (int i = 0; i < 10_000; i++)
            {
                ulong offset = (ulong)random.NextInt64() | (1ul << 40);     // beyond any slab, in either direction
                Assert.True(info.IndexOf((nuint)offset) >= info.Count);
            }
            // The largest multiples of the size below 2^64: divisible, but far beyond the slab.
            ulong size = (ulong)table.Classes[cls].ObjectSize;
            Assert.True(info.IndexOf((nuint)(ulong.MaxValue / size * size)) >= info.Count);
        }
    }

    [Theory]
    [InlineData(1ul)]
    [InlineData(3ul)]
    [InlineData(9ul)]
    [InlineData(15ul)]
    [InlineData(0xFFFF_FFFF_FFFF_FFFFul)]
    public void TheInverseIsExact(ulong odd) => Assert.Equal(1ul, odd * ExactDivisor.InverseOf(odd));
}
