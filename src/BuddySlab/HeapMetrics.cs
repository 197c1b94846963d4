using System.Diagnostics.Metrics;
using System.Reflection;

namespace BuddySlab;

/// <summary>
/// The library's metrics: one <see cref="Meter"/> named <c>BuddySlab</c> whose observable instruments report, for every
/// live <see cref="NativeHeap"/> (tag <c>heap</c> = its <see cref="NativeHeap.Name"/>) and every live
/// <see cref="IMeteredPool"/> (tag <c>pool</c>), what they hold and what they did. docs/design.md lists the instruments.
/// <para><b>Invariants.</b> Nothing is recorded when memory is allocated or freed: every instrument is observable, and a
/// reading asks each registered heap or pool at the moment a listener collects. Heaps and pools register when made and
/// unregister on <c>Dispose</c>, in weak registries (one left undisposed and unreachable drops out, and is not kept
/// alive by being measured). A heap whose <c>Dispose</c> has begun is skipped, and whatever reads a heap's memory does so
/// inside a call on it, which <c>Dispose</c> waits for, so a reading never touches memory already given back.</para>
/// <para><b>Costs.</b> The counters (released, trims, growths, failed allocations) and the pools' figures are plain
/// reads. <c>managed</c> and <c>allocated</c> hold the buddy lock for two field reads, <c>reserved</c> the region
/// source's lock (taken by growth only). <c>cached</c> visits every cache, each under its own lock: a thread's exchange
/// lock, a shelf's lock, a CPU's lock (locks of the slow paths; the fast paths take none). <c>resident</c> lists the
/// sections under the buddy lock and then asks the system (<c>mincore</c>, a walk of the heap's page tables).</para>
/// </summary>
internal static class HeapMetrics
{
    /// <summary>The meter's name: what <c>dotnet-counters monitor --counters BuddySlab</c> and an OpenTelemetry
    /// <c>AddMeter("BuddySlab")</c> subscribe to.</summary>
    public const string MeterName = "BuddySlab";

    private const string Bytes = "By";

    private static readonly WeakRegistry<NativeHeap> s_heaps = new();
    private static readonly WeakRegistry<IMeteredPool> s_pools = new();

    /// <summary>The meter, versioned as the library (its informational version).</summary>
    public static readonly Meter Meter = new(MeterName,
        typeof(HeapMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    static HeapMetrics()
    {
        Meter.CreateObservableUpDownCounter("buddyslab.heap.managed", () => Heaps(static h => (long)h.ManagedBytes), Bytes,
            "Bytes of pages the heap manages, in all its regions (metadata not included).");
        Meter.CreateObservableUpDownCounter("buddyslab.heap.reserved", () => Heaps(static h => (long)h.ReservedBytes), Bytes,
            "Bytes of the heap's regions in use, metadata included (a reservation counts as far as it is used).");
        Meter.CreateObservableUpDownCounter("buddyslab.heap.allocated", () => Heaps(static h => (long)h.AllocatedBytes), Bytes,
            "Bytes of pages in use: live blocks, slabs, and the page runs caches hold.");
        Meter.CreateObservableUpDownCounter("buddyslab.heap.cached", () => Heaps(static h => h.Allocator.TryGetCachedBytes(out nuint b) ? (long)b : null), Bytes,
            "Bytes the heap's caches hold inside its allocated pages (magazines, depots, page-run caches, empty slabs).");
        Meter.CreateObservableUpDownCounter("buddyslab.heap.resident", () => Heaps(static h => h.Allocator.TryGetResidentBytes(out nuint b) ? (long)b : null), Bytes,
            "Bytes of the heap's memory resident in physical memory (mincore, Linux only).");
        Meter.CreateObservableCounter("buddyslab.heap.released", () => Heaps(static h => (long)h.Allocator.ReleasedBytes), Bytes,
            "Bytes the heap gave back to the operating system so far (discarded free pages, unmapped regions).");
        Meter.CreateObservableCounter("buddyslab.heap.trims", () => Heaps(static h => h.Allocator.Trims), "{trim}",
            "Trims so far: Trim() calls and purge passes over an idle heap.");
        Meter.CreateObservableCounter("buddyslab.heap.growths", () => Heaps(static h => h.Allocator.Growths), "{growth}",
            "Times the heap grew so far: in place in its reservation, or by a new region.");
        Meter.CreateObservableCounter("buddyslab.heap.failed_allocations", () => Heaps(static h => h.Allocator.FailedAllocations), "{allocation}",
            "Requests answered 'no memory' so far.");
        Meter.CreateObservableUpDownCounter("buddyslab.pool.rented", () => Pools(static p => p.RentedCount), "{block}",
            "Blocks rented from the pool and not yet returned.");
        Meter.CreateObservableUpDownCounter("buddyslab.pool.rented_bytes", () => Pools(static p => p.RentedBytes), Bytes,
            "Bytes of the blocks rented from the pool and not yet returned.");
    }

    /// <summary>Reports <paramref name="heap"/> from now until <see cref="Unregister(NativeHeap)"/>.</summary>
    public static void Register(NativeHeap heap) => s_heaps.Add(heap);

    /// <summary>Stops reporting <paramref name="heap"/> (first thing in its <c>Dispose</c>).</summary>
    public static void Unregister(NativeHeap heap) => s_heaps.Remove(heap);

    /// <summary>Reports <paramref name="pool"/> from now until <see cref="Unregister(IMeteredPool)"/>.</summary>
    public static void Register(IMeteredPool pool) => s_pools.Add(pool);

    /// <summary>Stops reporting <paramref name="pool"/>.</summary>
    public static void Unregister(IMeteredPool pool) => s_pools.Remove(pool);

    /// <summary>One measurement per live heap, tagged with its name; none for a heap <paramref name="read"/> answers null for
    /// (a figure the system cannot give, or a heap being disposed meanwhile).</summary>
    private static List<Measurement<long>> Heaps(Func<NativeHeap, long?> read)
    {
        List<NativeHeap> heaps = s_heaps.Live();
        var measurements = new List<Measurement<long>>(heaps.Count);
        foreach (NativeHeap heap in heaps)
        {
            if (heap.IsDisposed) continue;
            long? value = read(heap);
            if (value is long v && !heap.IsDisposed) measurements.Add(new Measurement<long>(v, new KeyValuePair<string, object?>("heap", heap.Name)));
        }
        return measurements;
    }

    /// <summary>One measurement per live pool, tagged with its name.</summary>
    private static List<Measurement<long>> Pools(Func<IMeteredPool, long> read)
    {
        List<IMeteredPool> pools = s_pools.Live();
        var measurements = new List<Measurement<long>>(pools.Count);
        foreach (IMeteredPool pool in pools)
            measurements.Add(new Measurement<long>(read(pool), new KeyValuePair<string, object?>("pool", pool.Name)));
        return measurements;
    }
}
