using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// The entry points the C shim calls around the program's life: start, <c>fork</c>, thread exit and exit.
/// <para>The shim's own part already makes <c>fork</c> safe for calls that go through it (no thread is inside the heap
/// when the address space is copied) and calls <see cref="ThreadExit"/> before the runtime forgets an exiting thread.
/// What these do beyond that is what the library's public API allows today; each says what it will do once the library
/// offers the members it needs.</para>
/// </summary>
internal static unsafe class LifecycleExports
{
    [UnmanagedCallersOnly(EntryPoint = "bsm_initialize")]
    private static int Initialize(HeapRanges.Table* ranges)
    {
        try
        {
            ProcessHeap.Start(ranges);
            return 0;
        }
        catch (Exception e)
        {
            Libc.WriteError($"buddyslab-malloc: the heap did not start, glibc serves every call: {e.Message}\n");
            return 1;
        }
    }

    /// <summary>Before <c>fork</c> copies the process, with every other thread outside the heap. To come: take every
    /// heap lock in the library's documented order, so that locks held outside the shim's calls (a finalizer orphaning
    /// a thread's caches) are free in the child too.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_fork_prepare")]
    private static void ForkPrepare()
    {
    }

    /// <summary>In the parent after <c>fork</c>. To come: release what <see cref="ForkPrepare"/> took.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_fork_parent")]
    private static void ForkParent()
    {
    }

    /// <summary>In the child after <c>fork</c>, where only the forking thread exists. To come: release (re-initialize)
    /// the locks, and hand the caches of the threads that did not survive the fork back to the heap.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_fork_child")]
    private static void ForkChild()
    {
    }

    /// <summary>Thread exits between the collections <see cref="ThreadExit"/> starts.</summary>
    private const int ExitsPerCollection = 32;

    private static int s_exits;

    /// <summary>An exiting thread, before the runtime detaches it: its magazines and page runs go back to the heap.
    /// The emptied cache itself (its magazines' memory and its managed objects) is only released by a finalizer, and a
    /// program that allocates no managed objects never collects: so every <see cref="ExitsPerCollection"/> exits start
    /// a collection, whose finalizers hand the exited threads' caches to the heap (freed at its next slow path).
    /// To come: the library's thread-exit release, which frees the cache whole, without a collection.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_thread_exit")]
    private static void ThreadExit()
    {
        try
        {
            ProcessHeap.Allocator.FlushThreadCache();
            if (Interlocked.Increment(ref s_exits) % ExitsPerCollection == 0) GC.Collect();
        }
        catch (Exception)
        {
            // nothing to give back
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bsm_print_statistics")]
    private static void PrintStatistics()
    {
        try
        {
            GlobalAllocator allocator = ProcessHeap.Allocator;
            Libc.WriteError(
                $"buddyslab-malloc: {allocator.ManagedBytes} bytes of pages managed, {allocator.AllocatedBytes} in use "
                + $"(objects in thread caches count as in use), {ProcessHeap.Heap.ReservedBytes} bytes of regions in use "
                + $"in {allocator.SectionCount} section(s); {Interlocked.Read(ref ProcessHeap.ForeignCalls)} calls passed "
                + $"glibc's pointers on to glibc; {Interlocked.Read(ref ProcessHeap.BadPointers)} bad pointers ignored\n");
        }
        catch (Exception e)
        {
            Libc.WriteError($"buddyslab-malloc: no statistics: {e.Message}\n");
        }
    }
}
