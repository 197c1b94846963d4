using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// On the host, a thread's small objects come from one CPU's slabs (its home) wherever the scheduler runs it: the thread
/// is pinned to one core, then to another, with <c>sched_setaffinity</c>, and every slab it caused stays with one CPU.
/// Linux with two cores or more only; elsewhere the test reports itself skipped.
/// </summary>
public unsafe partial class HomeCpuTests
{
    private const int Objects = 20_000;           // about 150 magazines of 64-byte objects on each core

    [SkippableFact]
    public void AThreadMovedToAnotherCoreKeepsFillingTheSameCpusSlabs() => MoveAThreadBetweenCores(readers: 0);

    /// <summary>Readings of the heap take each CPU's lock in turn; a thread that finds its home's lock held by one waits
    /// for it rather than moving home, so the thread's slabs still stay with one CPU.</summary>
    [SkippableFact]
    public void AThreadKeepsItsHomeWhileAnotherThreadReadsTheHeap() => MoveAThreadBetweenCores(readers: 1);

    private static void MoveAThreadBetweenCores(int readers)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.ProcessorCount >= 2, "needs Linux and two cores");
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20, PurgeInterval = TimeSpan.FromHours(1) });
        GlobalAllocator a = heap.Allocator;
        nuint[] slabsPerCpu = [];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var objects = new List<nint>();
                foreach (int core in new[] { 0, 1, 0 })
                {
                    Pin(core);
                    Assert.Equal(core, Thread.GetCurrentProcessorId());
                    for (int i = 0; i < Objects; i++) objects.Add((nint)heap.Allocate(64));
                }
                slabsPerCpu = Enumerable.Range(0, Environment.ProcessorCount).Select(c => a.Cpu(c).Slabs.SlabCount).ToArray();
                foreach (nint p in objects) heap.Free((void*)p);
            }
            catch (Exception e) { failure = e; }
        });
        using var done = new ManualResetEventSlim();
        long readings = 0;
        Thread[] readerThreads = Enumerable.Range(0, readers).Select(i => new Thread(() =>
        {
            while (!done.IsSet) { _ = a.CachedBytes; readings++; }
        })).ToArray();
        foreach (Thread r in readerThreads) r.Start();
        thread.Start();
        thread.Join();
        done.Set();
        foreach (Thread r in readerThreads) r.Join();
        if (failure is not null) throw new Xunit.Sdk.XunitException($"the pinned thread failed: {failure}");
        Assert.True(slabsPerCpu.Sum(s => (long)s) > 0);
        Assert.True(readers == 0 || readings > 0);
        Assert.Equal(1, slabsPerCpu.Count(s => s != 0));        // one CPU holds every slab the thread made
    }

    private static void Pin(int core)
    {
        ulong mask = 1ul << core;
        if (sched_setaffinity(0, sizeof(ulong), &mask) != 0) throw new InvalidOperationException($"sched_setaffinity failed: {Marshal.GetLastPInvokeError()}");
        Thread.Yield();                             // the kernel moves the thread at once; this just lets it settle
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);
}
