namespace BuddySlab.Tests.Objects;

/// <summary>The layout arithmetic: alignment, stride, objects per slab, default slab size, division.</summary>
public class ObjectCacheLayoutTests
{
    [Fact]
    public void NaturalAlignmentAndStride()
    {
        Assert.Equal((nuint)1, ObjectCacheLayout.NaturalAlignmentOf<byte>());
        Assert.Equal((nuint)2, ObjectCacheLayout.NaturalAlignmentOf<short>());
        Assert.Equal((nuint)4, ObjectCacheLayout.NaturalAlignmentOf<Odd12>());
        Assert.Equal((nuint)8, ObjectCacheLayout.NaturalAlignmentOf<long>());
        Assert.Equal((nuint)16, ObjectCacheLayout.NaturalAlignmentOf<Int128>());
        Assert.Equal((nuint)16, ObjectCacheLayout.NaturalAlignmentOf<Aligned16>());

        Assert.Equal((nuint)8, ObjectCacheLayout.ObjectAlignmentOf<byte>());
        Assert.Equal((nuint)16, ObjectCacheLayout.ObjectAlignmentOf<Int128>());
        Assert.Equal((nuint)8, ObjectCacheLayout.StrideOf<byte>());
        Assert.Equal((nuint)16, ObjectCacheLayout.StrideOf<Odd12>());
        Assert.Equal((nuint)24, ObjectCacheLayout.StrideOf<Odd24>());
        Assert.Equal((nuint)32, ObjectCacheLayout.StrideOf<Aligned16>());
        Assert.Equal((nuint)1000, ObjectCacheLayout.StrideOf<Big1000>());
        Assert.Equal((nuint)16, ObjectCacheLayout.Stride(9, 8));
        Assert.Equal((nuint)8, ObjectCacheLayout.Stride(1, 8));
    }

    [Fact]
    public void SmallSlabsHoldTheMostObjectsThatFitBeforeTheirInfo()
    {
        foreach (nuint slab in new nuint[] { 4096, 8192, 12288, 65536, 1 << 20 })
        {
            foreach (nuint stride in new nuint[] { 8, 16, 24, 64, 104, 1000, 4000, 4096 })
            {
                nuint expected = 0;
                while ((expected + 1) * stride + SlabInfo.SizeFor(expected + 1) <= slab)
                    expected++;
                Assert.Equal(expected, ObjectCacheLayout.ObjectsPerSlab(slab, stride, ObjectSizeType.Small));
                Assert.Equal(slab / stride, ObjectCacheLayout.ObjectsPerSlab(slab, stride, ObjectSizeType.Large));
                if (expected > 0)
                    Assert.True(expected * stride <= ObjectCacheLayout.SmallInfoOffset(slab, expected));
            }
        }
        Assert.Equal((nuint)64, SlabInfo.HeaderSize);
        Assert.Equal((nuint)126, ObjectCacheLayout.ObjectsPerSlab(8192, 64, ObjectSizeType.Small));
        Assert.Equal((nuint)250, ObjectCacheLayout.ObjectsPerSlab(4096, 16, ObjectSizeType.Small));
        Assert.Equal((nuint)496, ObjectCacheLayout.ObjectsPerSlab(4096, 8, ObjectSizeType.Small)); // 3968 + 64 + 64
    }

    [Fact]
    public void DefaultSlabSizeIsTheSmallestPowerOfTwoPageRunHoldingEightObjects()
    {
        Assert.Equal((nuint)4096, ObjectCacheLayout.DefaultSlabSizeOf<byte>());
        Assert.Equal((nuint)4096, ObjectCacheLayout.DefaultSlabSizeOf<Obj64>());
        Assert.Equal((nuint)8192, ObjectCacheLayout.DefaultSlabSize(1000));
        Assert.Equal((nuint)4096, ObjectCacheLayout.DefaultSlabSize(502)); // 8 * 502 + 72 = 4088
        Assert.Equal((nuint)4096, ObjectCacheLayout.DefaultSlabSize(496));
        Assert.Equal((nuint)8192, ObjectCacheLayout.DefaultSlabSize(504));
        Assert.Equal((nuint)8192, ObjectCacheLayout.DefaultSlabSize(1008)); // 8 * 1008 + 72 = 8136
        Assert.Equal((nuint)16384, ObjectCacheLayout.DefaultSlabSize(1016));
        Assert.Equal((nuint)65536, ObjectCacheLayout.DefaultSlabSize(4096));

        for (nuint stride = 8; stride <= 70000; stride += 8 + stride / 3)
        {
            nuint slab = ObjectCacheLayout.DefaultSlabSize(stride);
            nuint pages = slab / ObjectCacheLayout.DefaultPageSize;
            Assert.Equal((nuint)0, slab % ObjectCacheLayout.DefaultPageSize);
            Assert.True((pages & (pages - 1)) == 0, $"{pages} pages for stride {stride}");
            Assert.True(ObjectCacheLayout.ObjectsPerSlab(slab, stride, ObjectSizeType.Small) >= 8);
            if (pages > 1)
                Assert.True(ObjectCacheLayout.ObjectsPerSlab(slab / 2, stride, ObjectSizeType.Small) < 8);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ObjectCacheLayout.DefaultSlabSize((nuint)1 << 30));
    }

    [Fact]
    public void StridesDivideExactlyAndOnlyAtObjectStarts()
    {
        // The cache finds an object's index with the slab layer's exact divisor: every multiple of the stride divides to
        // its quotient, anything else lands far above any object count.
        var random = new Random(3);
        foreach (nuint stride in new nuint[] { 8, 16, 24, 40, 104, 1000, 4000, 4096, 65544, 123456 })
        {
            (ulong inverse, int shift) = ExactDivisor.For(stride);
            ulong atLeast = ulong.MaxValue / stride;
            foreach (uint edge in new uint[] { 0, 1, (uint)stride - 1, (uint)stride, (uint)stride + 1, uint.MaxValue, uint.MaxValue - 1 })
            {
                ulong index = ExactDivisor.Divide(edge, inverse, shift);
                if (edge % stride == 0) Assert.Equal(edge / (ulong)stride, index);
                else Assert.True(index >= atLeast, $"stride {stride}: {edge} divided to {index}");
            }
            for (int i = 0; i < 20_000; i++)
            {
                uint offset = (uint)random.NextInt64(0, 1L << 32);
                uint multiple = (uint)((ulong)offset / stride * stride);
                Assert.Equal(offset / (ulong)stride, ExactDivisor.Divide(multiple, inverse, shift));
                if (offset != multiple) Assert.True(ExactDivisor.Divide(offset, inverse, shift) >= atLeast);
            }
        }
    }

    [Theory]
    [InlineData(1u, 0)]
    [InlineData(2u, 0)]
    [InlineData(32u, 0)]
    [InlineData(33u, 1)]
    [InlineData(62u, 1)]
    [InlineData(64u, 1)]
    [InlineData(65u, 2)]
    [InlineData(496u, 4)]
    public void OccupancyBucketsNeverExceedThirtyTwo(uint objectsPerSlab, int shift)
    {
        Assert.Equal(shift, SlabBuckets.ShiftFor(objectsPerSlab));
        Assert.True(SlabBuckets.BucketOf(objectsPerSlab - 1, shift) < SlabBuckets.Count);
    }
}
