namespace BuddySlab.Tests.Buffers;

/// <summary>A pool's two instruments, read with a listener: exact rented blocks and bytes, tagged with its name, until
/// the pool is disposed.</summary>
public class PoolMetricsTests
{
    private static NativeHeap Heap() => new(new NativeHeapOptions { InitialBytes = 4 << 20, PurgeInterval = TimeSpan.Zero });

    [Fact]
    public void APoolReportsWhatIsRentedUntilItIsDisposed()
    {
        using var heap = Heap();
        using var reader = new MetricsReader();
        var pool = new NativeMemoryPool(heap) { Name = "pool-metrics-exact" };
        Assert.Equal(new Dictionary<string, long> { ["buddyslab.pool.rented"] = 0, ["buddyslab.pool.rented_bytes"] = 0 },
            reader.Read("pool", pool.Name));

        var small = pool.Rent(100);
        var large = pool.Rent(5000);
        var byDefault = pool.Rent();
        Assert.Equal(new Dictionary<string, long> { ["buddyslab.pool.rented"] = 3, ["buddyslab.pool.rented_bytes"] = 100 + 5000 + 4096 },
            reader.Read("pool", pool.Name));
        large.Dispose();
        large.Dispose();                                   // a second dispose returns nothing
        Dictionary<string, long> m = reader.Read("pool", pool.Name);
        Assert.Equal((2L, 4196L), (m["buddyslab.pool.rented"], m["buddyslab.pool.rented_bytes"]));
        Assert.Equal((pool.RentedCount, pool.RentedBytes), ((int)m["buddyslab.pool.rented"], m["buddyslab.pool.rented_bytes"]));

        pool.Dispose();
        Assert.Empty(reader.Read("pool", pool.Name));
        small.Dispose();
        byDefault.Dispose();
        Assert.Equal(0, pool.RentedCount);
    }

    [Fact]
    public void PoolsAreNamedOrNumberedInOrder()
    {
        using var heap = Heap();
        using var first = new NativeMemoryPool(heap);
        using var second = new NativeMemoryPool(heap);
        using var named = new NativeMemoryPool(heap) { Name = "requests" };
        Assert.Matches("^pool-[1-9][0-9]*$", first.Name);
        Assert.True(int.Parse(second.Name[5..]) > int.Parse(first.Name[5..]), $"{first.Name}, then {second.Name}");
        Assert.Equal("requests", named.Name);
        Assert.Throws<ArgumentException>(() => new NativeMemoryPool(heap) { Name = "" });
    }
}
