using System.Collections.Concurrent;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// Many threads on few cores, objects freed by threads other than their allocator, contents checked on every
/// free; at the end everything is freed, trimmed, and every page is back in the buddy.
/// </summary>
public unsafe class StressTests
{
    private static long s_purged;       // blocks the purging variant has scribbled over: proof its passes ran

    private static readonly int OpsPerThread = Environment.GetEnvironmentVariable("BUDDYSLAB_SOAK") == "1" ? 5_000_000 : 150_000;

    /// <summary>Stamps a block with a value derived from its address and size, so a block moved or overwritten is noticed.</summary>
    private static void Stamp(byte* p, int size, ulong tag)
    {
        if (size >= 8) *(ulong*)p = tag;
        if (size >= 16) *(ulong*)(p + size - 8) = ~tag;
        else if (size is > 0 and < 8) p[size - 1] = (byte)tag;
    }

    private static void Verify(byte* p, int size, ulong tag)
    {
        if (size >= 8) Assert.Equal(tag, *(ulong*)p);
        if (size >= 16) Assert.Equal(~tag, *(ulong*)(p + size - 8));
        else if (size is > 0 and < 8) Assert.Equal((byte)tag, p[size - 1]);
    }

    public static TheoryData<string, int> Platforms => new() { { "host", 6 }, { "virtual-8", 8 }, { "virtual-4", 4 }, { "host-purging", 6 } };

    private static GlobalAllocator Create(string platform, NativeRegion region)
    {
        var a = new GlobalAllocator();
        IPlatform p = platform.StartsWith("host", StringComparison.Ordinal) ? HostPlatform.Instance : new ThreadIdPlatform(int.Parse(platform.Split('-')[1]));
        a.Init(region.Pointer, region.Size, p);
        if (platform.EndsWith("-purging", StringComparison.Ordinal))
        {
            // A purge pass every millisecond, concurrent with the traffic; "giving back" a block scribbles over it, so a
            // pass that touched a live block, or a reaped magazine flushed wrongly, shows up as a failed Verify.
            a.PurgeIntervalMilliseconds = 1;
            a.StartClock();                                 // stopped (waiting out a pass in progress) before the region goes
            Action<nuint, nuint> scribble = (address, bytes) =>
            {
                System.Runtime.InteropServices.NativeMemory.Fill((void*)address, bytes, 0xCD);
                Interlocked.Increment(ref s_purged);
            };
            a.RegionSource = new DelegateRegionSource { Discard = scribble };
        }
        return a;
    }

    [Theory]
    [MemberData(nameof(Platforms))]
    public void ProducersHandObjectsToConsumersThatFreeThem(string platform, int threads)
    {
        using var region = new NativeRegion(256 << 20);
        var a = Create(platform, region);
        var queue = new BlockingCollection<(nint P, int Size, ulong Tag)>(boundedCapacity: 10_000);
        int producers = threads / 2;
        int producersLeft = producers;
        var failures = new ConcurrentQueue<Exception>();
        var workers = new List<Thread>();
        for (int t = 0; t < threads; t++)
        {
            bool producer = t < producers;
            int seed = t;
            workers.Add(new Thread(() =>
            {
                try
                {
                    if (producer)
                    {
                        var rng = new Random(seed);
                        for (int i = 0; i < OpsPerThread / 2; i++)
                        {
                            int size = rng.Next(8) == 0 ? rng.Next(2049, 20000) : rng.Next(0, 2049);
                            byte* p = (byte*)a.Allocate((nuint)size);
                            ulong tag = (ulong)p ^ (ulong)size;
                            Stamp(p, size, tag);
                            queue.Add(((nint)p, size, tag));
                        }
                        if (Interlocked.Decrement(ref producersLeft) == 0) queue.CompleteAdding();
                    }
                    else
                    {
                        foreach (var (p, size, tag) in queue.GetConsumingEnumerable())
                        {
                            Verify((byte*)p, size, tag);
                            if ((tag & 1) == 0) a.Free((void*)p);
                            else a.Free((void*)p, (nuint)size, size >= 16 ? 16u : 8u);
                        }
                    }
                }
                catch (Exception e) { failures.Enqueue(e); queue.CompleteAdding(); }
                // Half the threads put their magazines back; the others just exit and are recovered as orphans.
                if (seed % 2 == 0) a.FlushThreadCache();
            }));
        }
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
        if (platform.EndsWith("-purging", StringComparison.Ordinal)) Assert.True(Interlocked.Read(ref s_purged) > 0, "no purge pass gave anything back");
        a.StopClock();
        ExitedThreads.RecoverCachesAndTrim(a);
        Assert.True(a.AllocatedBytes == 0, LeakReport.Describe(a));
        BuddyInspector.CheckInvariants(a.Buddy);
    }

    [Theory]
    [MemberData(nameof(Platforms))]
    public void ThreadsExchangeObjectsAtRandomAndFreeWhatTheyReceive(string platform, int threads)
    {
        using var region = new NativeRegion(256 << 20);
        var a = Create(platform, region);
        const int Slots = 4096;
        var shared = new nint[Slots];      // a block, tagged by its header, anyone may take
        var failures = new ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                var rng = new Random(100 + t);
                var mine = new List<nint>();
                for (int i = 0; i < OpsPerThread; i++)
                {
                    int op = rng.Next(10);
                    if ((op < 4 && mine.Count < 2000) || mine.Count == 0)   // bounded live set, however long the run
                    {
                        int size = rng.Next(10) == 0 ? rng.Next(2049, 9000) : (int)Math.Pow(2, 3 + rng.NextDouble() * 8);
                        byte* p = (byte*)a.Allocate((nuint)size);
                        *(int*)p = size;                       // every block is at least 8 bytes here
                        Stamp(p + 4, size - 4, (ulong)p);
                        mine.Add((nint)p);
                    }
                    else if (op < 7)
                    {
                        // Swap one of mine into a random shared slot; whatever was there is mine now.
                        int k = rng.Next(mine.Count);
                        mine[k] = Interlocked.Exchange(ref shared[rng.Next(Slots)], mine[k]);
                        if (mine[k] == 0) { mine[k] = mine[^1]; mine.RemoveAt(mine.Count - 1); }
                    }
                    else
                    {
                        int k = rng.Next(mine.Count);
                        byte* p = (byte*)mine[k];
                        int size = *(int*)p;
                        Verify(p + 4, size - 4, (ulong)p);
                        a.Free(p);
                        mine[k] = mine[^1];
                        mine.RemoveAt(mine.Count - 1);
                    }
                }
                foreach (nint p in mine) a.Free((void*)p);
                if (t % 2 == 0) a.FlushThreadCache();
            }
            catch (Exception e) { failures.Enqueue(e); }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
        if (platform.EndsWith("-purging", StringComparison.Ordinal)) Assert.True(Interlocked.Read(ref s_purged) > 0, "no purge pass gave anything back");
        foreach (nint p in shared) if (p != 0) a.Free((void*)p);
        a.StopClock();
        ExitedThreads.RecoverCachesAndTrim(a);
        Assert.True(a.AllocatedBytes == 0, LeakReport.Describe(a));
        BuddyInspector.CheckInvariants(a.Buddy);
    }

    /// <summary>A platform with more CPUs than the machine: each thread is pinned to a CPU by its managed thread id.</summary>
    private sealed class ThreadIdPlatform(int cpus) : IPlatform
    {
        public int ProcessorCount => cpus;
        public int CurrentProcessor => Environment.CurrentManagedThreadId % cpus;
        public ulong VirtualToPhysical(nuint virtualAddress) => virtualAddress;
    }
}
