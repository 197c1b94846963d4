using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The heaps' metrics, read with a <see cref="MeterListener"/> as a collector reads them: each instrument's value for a
/// named heap equals the heap's own figure, the instruments carry OpenTelemetry names and units, and a heap leaves them
/// when disposed or when nobody holds it any more, also while readers and other threads are busy with it.
/// </summary>
public unsafe class HeapMetricsTests
{
    private const nuint MiB = 1 << 20;

    private static readonly Dictionary<string, (string Unit, Type Kind)> Expected = new()
    {
        ["buddyslab.heap.managed"] = ("By", typeof(ObservableUpDownCounter<long>)),
        ["buddyslab.heap.reserved"] = ("By", typeof(ObservableUpDownCounter<long>)),
        ["buddyslab.heap.allocated"] = ("By", typeof(ObservableUpDownCounter<long>)),
        ["buddyslab.heap.cached"] = ("By", typeof(ObservableUpDownCounter<long>)),
        ["buddyslab.heap.resident"] = ("By", typeof(ObservableUpDownCounter<long>)),
        ["buddyslab.heap.released"] = ("By", typeof(ObservableCounter<long>)),
        ["buddyslab.heap.trims"] = ("{trim}", typeof(ObservableCounter<long>)),
        ["buddyslab.heap.growths"] = ("{growth}", typeof(ObservableCounter<long>)),
        ["buddyslab.heap.failed_allocations"] = ("{allocation}", typeof(ObservableCounter<long>)),
        ["buddyslab.pool.rented"] = ("{block}", typeof(ObservableUpDownCounter<long>)),
        ["buddyslab.pool.rented_bytes"] = ("By", typeof(ObservableUpDownCounter<long>)),
    };

    /// <summary>The instruments a heap shows up in: all of the heap's, but resident bytes where the system cannot tell.</summary>
    private static IEnumerable<string> HeapInstruments() =>
        Expected.Keys.Where(n => n.StartsWith("buddyslab.heap.", StringComparison.Ordinal) && (ResidentPages.IsSupported || n != "buddyslab.heap.resident")).Order();

    private static NativeHeapOptions Options(string? name = null) =>
        new() { Name = name, InitialBytes = 4 * MiB, PurgeInterval = TimeSpan.Zero, HugePages = false };

    [Fact]
    public void EveryInstrumentReportsTheNamedHeapsOwnFigures()
    {
        using var heap = new NativeHeap(Options("metrics-figures"));
        using var reader = new MetricsReader();
        byte* big = (byte*)heap.Allocate(16 * MiB);                      // past the first 4 MiB: one growth
        new Span<byte>(big, (int)(16 * MiB)).Fill(1);
        var blocks = Enumerable.Range(0, 3000).Select(i => (nint)heap.Allocate((nuint)(8 + i % 2500))).ToList();
        heap.Free(big);
        heap.Trim();                                                      // one trim, pages given back
        for (int i = 0; i < blocks.Count; i += 2) heap.Free((void*)blocks[i]);   // some of them stay in the caches

        nuint residentBefore = heap.ResidentBytes;
        Dictionary<string, long> m = reader.Read("heap", heap.Name);
        nuint residentAfter = heap.ResidentBytes;
        HeapStatistics s = heap.GetStatistics();
        Assert.Equal(HeapInstruments(), m.Keys.Order());
        Assert.Equal((long)heap.ManagedBytes, m["buddyslab.heap.managed"]);
        Assert.Equal((long)heap.ReservedBytes, m["buddyslab.heap.reserved"]);
        Assert.Equal((long)heap.AllocatedBytes, m["buddyslab.heap.allocated"]);
        Assert.NotEqual(0, m["buddyslab.heap.cached"]);
        Assert.Equal((long)heap.CachedBytes, m["buddyslab.heap.cached"]);
        Assert.Equal((long)s.ReleasedBytes, m["buddyslab.heap.released"]);
        Assert.Equal((1L, 1L, 0L), (m["buddyslab.heap.trims"], m["buddyslab.heap.growths"], m["buddyslab.heap.failed_allocations"]));
        Assert.Equal((s.Trims, s.Growths, s.FailedAllocations), (m["buddyslab.heap.trims"], m["buddyslab.heap.growths"], m["buddyslab.heap.failed_allocations"]));
        if (OsMemory.CanReserveAndDiscard) Assert.True(m["buddyslab.heap.released"] >= 16 * (long)MiB);
        if (ResidentPages.IsSupported)
        {
            // Nothing runs in the heap between the reads; the bounds only allow for the system moving pages meanwhile.
            Assert.InRange(m["buddyslab.heap.resident"], (long)Math.Min(residentBefore, residentAfter), (long)Math.Max(residentBefore, residentAfter));
            Assert.InRange(m["buddyslab.heap.resident"], 1, (long)heap.ReservedBytes);
        }
        for (int i = 1; i < blocks.Count; i += 2) heap.Free((void*)blocks[i]);
    }

    [Fact]
    public void TheMeterIsBuddySlabVersionedAsTheLibraryWithOpenTelemetryNamesAndUnits()
    {
        using var heap = new NativeHeap(Options("metrics-units"));         // the meter exists once a heap does
        using var reader = new MetricsReader();
        Dictionary<string, Instrument> instruments = reader.Instruments.ToDictionary(i => i.Name);
        Assert.Equal(Expected.Keys.Order(), instruments.Keys.Order());
        foreach (var (name, (unit, kind)) in Expected)
        {
            Instrument instrument = instruments[name];
            Assert.Equal(unit, instrument.Unit);
            Assert.Equal(kind, instrument.GetType());
            Assert.False(string.IsNullOrWhiteSpace(instrument.Description), name);
        }
        string? version = typeof(NativeHeap).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        Assert.NotNull(version);
        Assert.All(instruments.Values, i => Assert.Equal(version, i.Meter.Version));
    }

    [Fact]
    public void ADisposedHeapDisappearsFromEveryInstrument()
    {
        using var reader = new MetricsReader();
        var heap = new NativeHeap(Options("metrics-disposed"));
        heap.Free(heap.Allocate(100));
        Assert.Equal(HeapInstruments(), reader.Read("heap", heap.Name).Keys.Order());
        heap.Dispose();
        Assert.Empty(reader.Read("heap", heap.Name));
    }

    [Fact]
    public void AHeapNobodyDisposedDropsOutOnceUnreachable()
    {
        using var reader = new MetricsReader();
        WeakReference weak = MakeAndLeave(reader, "metrics-left-behind");
        for (int i = 0; i < 10 && weak.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(weak.IsAlive, "the metrics kept an abandoned heap alive");
        Assert.Empty(reader.Read("heap", "metrics-left-behind"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference MakeAndLeave(MetricsReader reader, string name)
    {
        var heap = new NativeHeap(new NativeHeapOptions { Name = name, InitialBytes = MiB, MaxBytes = 4 * MiB, PurgeInterval = TimeSpan.Zero });
        Assert.NotEmpty(reader.Read("heap", name));
        return new WeakReference(heap);
    }

    [Fact]
    public void HeapsAreNamedByTheirOptionsOrNumberedInOrder()
    {
        using var first = new NativeHeap(Options());
        using var second = new NativeHeap(Options());
        using var named = new NativeHeap(Options("orders"));
        Assert.Matches("^heap-[1-9][0-9]*$", first.Name);
        Assert.Matches("^heap-[1-9][0-9]*$", second.Name);
        Assert.True(int.Parse(second.Name[5..]) > int.Parse(first.Name[5..]), $"{first.Name}, then {second.Name}");
        Assert.Equal("orders", named.Name);
        Assert.Equal("shared", NativeHeap.Shared.Name);
        var refused = Assert.Throws<ArgumentException>(() => new NativeHeap(Options("")));
        Assert.Contains("Name", refused.Message);
    }

    [Fact]
    public void ReadingWhileThreadsUseTheHeapAndWhileItIsDisposedIsSafe()
    {
        using var reader = new MetricsReader();
        for (int round = 0; round < 8; round++)
        {
            var heap = new NativeHeap(Options("metrics-race"));
            bool stop = false;
            Exception? failure = null;
            var threads = new List<Thread>();
            for (int t = 0; t < 2; t++)
            {
                int seed = round * 10 + t;
                threads.Add(new Thread(() =>
                {
                    var random = new Random(seed);
                    var live = new List<nint>();
                    try
                    {
                        while (!Volatile.Read(ref stop))
                        {
                            if (live.Count < 500 && random.Next(2) == 0) live.Add((nint)heap.Allocate((nuint)random.Next(1, 5000)));
                            else if (live.Count > 0)
                            {
                                heap.Free((void*)live[^1]);
                                live.RemoveAt(live.Count - 1);
                            }
                        }
                    }
                    catch (ObjectDisposedException) { }                     // the heap went away under it: refused, nothing touched
                    catch (Exception e) { failure = e; }
                }));
            }
            threads.Add(new Thread(() =>
            {
                try
                {
                    while (!Volatile.Read(ref stop)) reader.Read("heap", "metrics-race");
                }
                catch (Exception e) { failure = e; }
            }));
            threads.ForEach(t => t.Start());
            Thread.Sleep(30);
            heap.Dispose();
            Assert.Empty(reader.Read("heap", "metrics-race"));
            Thread.Sleep(10);
            Volatile.Write(ref stop, true);
            threads.ForEach(t => t.Join());
            Assert.Null(failure);
        }
    }
}
