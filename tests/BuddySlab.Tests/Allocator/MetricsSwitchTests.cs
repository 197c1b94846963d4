namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The switch that turns the metrics off (<c>BuddySlab.Metrics.IsSupported</c>): unset or true keeps them, false turns
/// them off. The process's own value is read once, before any heap registers, so the test reads the switch through the
/// same check and puts it back; the build with the switch off (the malloc library) is checked by tests/malloc/run.sh.
/// </summary>
public class MetricsSwitchTests
{
    [Fact]
    public void TheSwitchIsOnUnlessSetToFalse()
    {
        Assert.True(HeapMetrics.IsSupported);           // read (and fixed) before the switch changes below
        Assert.Equal("BuddySlab.Metrics.IsSupported", HeapMetrics.SwitchName);
        Assert.True(HeapMetrics.SwitchAllows());
        try
        {
            AppContext.SetSwitch(HeapMetrics.SwitchName, false);
            Assert.False(HeapMetrics.SwitchAllows());
            AppContext.SetSwitch(HeapMetrics.SwitchName, true);
            Assert.True(HeapMetrics.SwitchAllows());
        }
        finally
        {
            AppContext.SetSwitch(HeapMetrics.SwitchName, true);
        }
        Assert.True(HeapMetrics.IsSupported);           // the process's value does not follow later changes
    }
}
