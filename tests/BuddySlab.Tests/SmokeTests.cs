namespace BuddySlab.Tests;

public class HostPlatformTests
{
    [Fact]
    public void CurrentProcessorIsInRange()
    {
        var p = HostPlatform.Instance;
        Assert.True(p.ProcessorCount >= 1);
        for (int i = 0; i < 1000; i++)
            Assert.InRange(p.CurrentProcessor, 0, p.ProcessorCount - 1);
        Assert.Equal(0x1234ul, p.VirtualToPhysical(0x1234));
    }
}
