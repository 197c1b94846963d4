using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Allocator;

/// <summary>
/// On the host, a thread's small objects come from one CPU's slabs (its home) wherever the scheduler runs it: the thread
/// is pinned to one core, then to another, with <c>sched_setaffinity</c>, and every slab it caused stays with one CPU.
/// Linux with two cores or more only; elsewhere the test reports itself skipped.
/// </summary>
public unsafe partial class HomeCpuTests
{
    private const int Objects = 4_000;            // about 30 magazines of 64-byte objects on each core

    [SkippableFact]
    public void AThreadMovedToAnotherCoreKeepsFillingTheSameCpusSlabs()
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
        thread.Start();
        thread.Join();
        if (failure is not null) throw new Xunit.Sdk.XunitException($"the pinned thread failed: {failure}");
        Assert.True(slabsPerCpu.Sum(s => (long)s) > 0);
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
