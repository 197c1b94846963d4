namespace BuddySlab.Tests.Buddy;

public class PageRecordTests
{
    [Fact]
    public void ASlabHeadIsRecognisedByKindFlagsAndClassWhateverItsOrder()
    {
        var r = new PageRecord { Kind = PageRecord.RunHead, Flags = PageFlags.Slab, SlabClass = 7, Order = 3, Next = 2 };
        Assert.True(r.IsSlabHeadOf(7));
        Assert.False(r.IsSlabHeadOf(6));
        r.Order = 0;
        Assert.True(r.IsSlabHeadOf(7));
        Assert.False((r with { Flags = PageFlags.Allocated }).IsSlabHeadOf(7));
        Assert.False((r with { Flags = RunStates.Cached }).IsSlabHeadOf(7));
        Assert.False((r with { Kind = PageRecord.FreeHead }).IsSlabHeadOf(7));
        Assert.False((r with { Kind = 0 }).IsSlabHeadOf(7));
        Assert.True((r with { SlabClass = 40 }).IsSlabHeadOf(40));
    }
}
