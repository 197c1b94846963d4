using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// Two entry points that take the cost of a <c>malloc</c> + <c>free</c> pair apart, for
/// <c>bench/programs/malloc_pair.c</c> (the shim exports them as <c>buddyslab_malloc_empty_call</c> and
/// <c>buddyslab_malloc_managed_pairs</c>, entered like every call). An empty call costs what each of the pair's two
/// calls pays to reach the heap and come back (the shim's entry and the runtime's transitions); the managed loop is the
/// work the pair's two calls do once there, with no transition at all.
/// </summary>
internal static unsafe class BenchmarkExports
{
    [UnmanagedCallersOnly(EntryPoint = "bsm_empty_call")]
    private static void EmptyCall()
    {
    }

    /// <summary><paramref name="pairs"/> times what <c>bsm_malloc</c> and <c>bsm_free</c> do for a block of
    /// <paramref name="size"/> bytes.</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_managed_pairs")]
    private static void ManagedPairs(long pairs, nuint size)
    {
        GlobalAllocator allocator = ProcessHeap.Allocator;
        for (long i = 0; i < pairs; i++)
        {
            if (!allocator.TryAllocate(size, out void* pointer)) return;
            allocator.TryFree(pointer, out _);
        }
    }
}
