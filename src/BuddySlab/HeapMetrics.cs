using System.Diagnostics.CodeAnalysis;
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
/// <para><b>Switched off.</b> The <see cref="AppContext"/> switch <c>BuddySlab.Metrics.IsSupported</c> set to false
/// (before the first heap or pool is made) leaves the meter unmade and registers nothing; in a trimmed or NativeAOT build
/// that sets it as a <c>RuntimeHostConfigurationOption</c> with <c>Trim="true"</c>, the meter's code is left out of the
/// binary. The meter and its registries live in a nested class, built on the first registration only.</para>
/// </summary>
internal static class HeapMetrics
{
    /// <summary>The meter's name: what <c>dotnet-counters monitor --counters BuddySlab</c> and an OpenTelemetry
    /// <c>AddMeter("BuddySlab")</c> subscribe to.</summary>
    public const string MeterName = "BuddySlab";

    /// <summary>The name of the switch that turns the metrics off.</summary>
    public const string SwitchName = "BuddySlab.Metrics.IsSupported";

    private const string Bytes = "By";

    /// <summary>False when the switch <see cref="SwitchName"/> is set to false: nothing registers, no meter is made.</summary>
    [FeatureSwitchDefinition(SwitchName)]
    public static bool IsSupported { get; } = SwitchAllows();

    /// <summary>What the switch says now: true unless it is set to false.</summary>
    internal static bool SwitchAllows() => !AppContext.TryGetSwitch(SwitchName, out bool enabled) || enabled;

    /// <summary>The meter, versioned as the library (its informational version); made on first use.</summary>
    public static Meter Meter => Instruments.Meter;

    /// <summary>Builds the meter and its instruments now, if the metrics are on (a host that must not run class
    /// constructors later, on another thread, calls this first).</summary>
    public static void Prepare()
    {
        if (IsSupported) System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Instruments).TypeHandle);
    }

    /// <summary>Reports <paramref name="heap"/> from now until <see cref="Unregister(NativeHeap)"/>.</summary>
    public static void Register(NativeHeap heap)
    {
        if (IsSupported) Instruments.Heaps.Add(heap);
    }

    /// <summary>Stops reporting <paramref name="heap"/> (first thing in its <c>Dispose</c>).</summary>
    public static void Unregister(NativeHeap heap)
    {
        if (IsSupported) Instruments.Heaps.Remove(heap);
    }

    /// <summary>Reports <paramref name="pool"/> from now until <see cref="Unregister(IMeteredPool)"/>.</summary>
    public static void Register(IMeteredPool pool)
    {
        if (IsSupported) Instruments.Pools.Add(pool);
    }

    /// <summary>Stops reporting <paramref name="pool"/>.</summary>
    public static void Unregister(IMeteredPool pool)
    {
        if (IsSupported) Instruments.Pools.Remove(pool);
    }

    /// <summary>The meter, its instruments and the registries they read, built together on first use.</summary>
    private static class Instruments
    {
        public static readonly WeakRegistry<NativeHeap> Heaps = new();
        public static readonly WeakRegistry<IMeteredPool> Pools = new();

        public static readonly Meter Meter = new(MeterName,
            typeof(HeapMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

        static Instruments()
        {
            Meter.CreateObservableUpDownCounter("buddyslab.heap.managed", () => ReadHeaps(static h => (long)h.ManagedBytes), Bytes,
                "Bytes of pages the heap manages, in all its regions (metadata not included).");
            Meter.CreateObservableUpDownCounter("buddyslab.heap.reserved", () => ReadHeaps(static h => (long)h.ReservedBytes), Bytes,
                "Bytes of the heap's regions in use, metadata included (a reservation counts as far as it is used).");
            Meter.CreateObservableUpDownCounter("buddyslab.heap.allocated", () => ReadHeaps(static h => (long)h.AllocatedBytes), Bytes,
                "Bytes of pages in use: live blocks, slabs, and the page runs caches hold.");
            Meter.CreateObservableUpDownCounter("buddyslab.heap.cached", () => ReadHeaps(static h => h.Allocator.TryGetCachedBytes(out nuint b) ? (long)b : null), Bytes,
                "Bytes the heap's caches hold inside its allocated pages (magazines, depots, page-run caches, empty slabs).");
            Meter.CreateObservableUpDownCounter("buddyslab.heap.resident", () => ReadHeaps(static h => h.Allocator.TryGetResidentBytes(out nuint b) ? (long)b : null), Bytes,
                "Bytes of the heap's memory resident in physical memory (mincore, Linux only).");
            Meter.CreateObservableCounter("buddyslab.heap.released", () => ReadHeaps(static h => (long)h.Allocator.ReleasedBytes), Bytes,
                "Bytes the heap gave back to the operating system so far (discarded free pages, unmapped regions).");
            Meter.CreateObservableCounter("buddyslab.heap.trims", () => ReadHeaps(static h => h.Allocator.Trims), "{trim}",
                "Trims so far: Trim() calls and purge passes over an idle heap.");
            Meter.CreateObservableCounter("buddyslab.heap.growths", () => ReadHeaps(static h => h.Allocator.Growths), "{growth}",
                "Times the heap grew so far: in place in its reservation, or by a new region.");
            Meter.CreateObservableCounter("buddyslab.heap.failed_allocations", () => ReadHeaps(static h => h.Allocator.FailedAllocations), "{allocation}",
                "Requests answered 'no memory' so far.");
            Meter.CreateObservableUpDownCounter("buddyslab.pool.rented", () => ReadPools(static p => p.RentedCount), "{block}",
                "Blocks rented from the pool and not yet returned.");
            Meter.CreateObservableUpDownCounter("buddyslab.pool.rented_bytes", () => ReadPools(static p => p.RentedBytes), Bytes,
                "Bytes of the blocks rented from the pool and not yet returned.");
        }

        /// <summary>One measurement per live heap, tagged with its name; none for a heap <paramref name="read"/> answers null for
        /// (a figure the system cannot give, or a heap being disposed meanwhile).</summary>
        private static List<Measurement<long>> ReadHeaps(Func<NativeHeap, long?> read)
        {
            List<NativeHeap> heaps = Heaps.Live();
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
        private static List<Measurement<long>> ReadPools(Func<IMeteredPool, long> read)
        {
            List<IMeteredPool> pools = Pools.Live();
            var measurements = new List<Measurement<long>>(pools.Count);
            foreach (IMeteredPool pool in pools)
                measurements.Add(new Measurement<long>(read(pool), new KeyValuePair<string, object?>("pool", pool.Name)));
            return measurements;
        }
    }
}
