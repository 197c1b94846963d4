using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// The entry points the C shim calls around the program's life: start, <c>fork</c>, thread exit and exit.
/// <para>The fork handlers run inside the shim's own: its prepare handler has already closed its gate and waited until
/// no program thread is inside the heap, so the locks taken here are held only by the heap's own background work (a
/// purge pass, the clock), which they wait for. No exception leaves them.</para>
/// </summary>
internal static unsafe class LifecycleExports
{
    /// <summary>Does the runtime's first-time work alone (<see cref="RuntimePrimer"/>), creates the heap and answers its
    /// reservation <c>[*low, *high)</c>, its page size and its largest slab object (a larger block is a page run); 0 when
    /// ready, 1 when the heap could not start (glibc then serves the whole process).</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_initialize")]
    private static int Initialize(nuint* low, nuint* high, nuint* pageSize, nuint* largestObject)
    {
        try
        {
            RuntimePrimer.Prime();
            ProcessHeap.Start();
            *low = ProcessHeap.Low;
            *high = ProcessHeap.High;
            *pageSize = (nuint)ProcessHeap.Allocator.PageSize;
            *largestObject = ProcessHeap.LargestObject;
            return 0;
        }
        catch (Exception e)
        {
            Libc.WriteError($"buddyslab-malloc: the heap did not start, glibc serves every call: {e.Message}\n");
            return 1;
        }
    }

    /// <summary>Before <c>fork</c> copies the process: every heap lock, in the library's documented order.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_fork_prepare")]
    private static void ForkPrepare() => ProcessHeap.Heap.LockForFork();

    /// <summary>In the parent after <c>fork</c>: the locks let go.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_fork_parent")]
    private static void ForkParent() => ProcessHeap.Heap.UnlockAfterFork(child: false);

    /// <summary>In the child, where only the forking thread exists: the locks let go, and the caches of every other
    /// thread handed back to the heap.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_fork_child")]
    private static void ForkChild() => ProcessHeap.Heap.UnlockAfterFork(child: true);

    /// <summary>An exiting thread, before the runtime forgets it: its cache flushed to the heap and freed at once, with
    /// no finalizer and no collection.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_thread_exit")]
    private static void ThreadExit() => ProcessHeap.Heap.ReleaseThreadCache();

    /// <summary>At exit with <c>BUDDYSLAB_MALLOC_STATS=1</c>: the heap's statistics on standard error, with the shim's
    /// counts of glibc blocks passed on and of invalid pointers reported.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_print_statistics")]
    private static void PrintStatistics(long foreignCalls, long invalidPointers)
    {
        try
        {
            Libc.WriteError(StatisticsReport.Format(ProcessHeap.Heap.GetStatistics(), ProcessHeap.High - ProcessHeap.Low, foreignCalls, invalidPointers));
        }
        catch (Exception e)
        {
            Libc.WriteError($"buddyslab-malloc: no statistics: {e.Message}\n");
        }
    }
}
