using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// The allocation entry points the C shim calls (not exported from the library: the shim owns the malloc symbols).
/// <para>Each runs with the calling thread marked busy by the shim, so whatever the heap or the runtime allocate
/// meanwhile comes from glibc. They use the heap's non-throwing calls only: out of memory answers null (the shim sets
/// <c>errno = ENOMEM</c>); a pointer the heap does not own answers <see cref="Foreign"/> (the shim hands it to glibc)
/// before the heap is asked anything else; one it owns that is no live block answers <see cref="Invalid"/> (the shim
/// reports it), the heap unchanged.</para>
/// </summary>
internal static unsafe class AllocationExports
{
    /// <summary>What a call answers about the pointer it was given (the shim's <c>BSM_*</c>).</summary>
    private const int Done = 0, Foreign = 1, Invalid = 2;

    [UnmanagedCallersOnly(EntryPoint = "bsm_malloc")]
    private static void* Malloc(nuint size) => ProcessHeap.Allocator.TryAllocate(size, out void* pointer) ? pointer : null;

    [UnmanagedCallersOnly(EntryPoint = "bsm_memalign")]
    private static void* Memalign(nuint alignment, nuint size) =>
        ProcessHeap.Allocator.TryAllocate(size, alignment, out void* pointer) ? pointer : null;

    [UnmanagedCallersOnly(EntryPoint = "bsm_free")]
    private static int Free(void* pointer)
    {
        // TryFree answers a pointer outside the heap with NotFound, without an exception: no Owns call on the way.
        if (ProcessHeap.Allocator.TryFree(pointer, out AllocError error)) return Done;
        return error is AllocError.NotFound or AllocError.NotInitialized ? Foreign : Invalid;
    }

    /// <summary>Frees the page run the shim placed an offset block in: <see cref="Invalid"/>, the heap unchanged, unless
    /// <paramref name="run"/> heads a live page run (a block larger than the largest slab object).</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_free_run")]
    private static int FreeRun(void* run)
    {
        GlobalAllocator allocator = ProcessHeap.Allocator;
        if (!allocator.TryUsableSize(run, out nuint size, out _) || size <= ProcessHeap.LargestObject) return Invalid;
        return allocator.TryFree(run, out _) ? Done : Invalid;
    }

    /// <summary>Null with <paramref name="status"/> <see cref="Done"/> when out of memory (the block stays as it was).</summary>
    [UnmanagedCallersOnly(EntryPoint = "bsm_realloc")]
    private static void* Realloc(void* pointer, nuint size, int* status)
    {
        GlobalAllocator allocator = ProcessHeap.Allocator;
        if (!allocator.Owns(pointer))
        {
            *status = Foreign;
            return null;
        }
        if (allocator.TryReallocate(pointer, size, out void* moved, out AllocError error)) return moved;
        *status = IsBadPointer(error) ? Invalid : Done;
        return null;
    }

    [UnmanagedCallersOnly(EntryPoint = "bsm_usable_size")]
    private static nuint UsableSize(void* pointer, int* status)
    {
        GlobalAllocator allocator = ProcessHeap.Allocator;
        if (!allocator.Owns(pointer))
        {
            *status = Foreign;
            return 0;
        }
        if (allocator.TryUsableSize(pointer, out nuint size, out _)) return size;
        *status = Invalid;
        return 0;
    }

    /// <summary>An error about the pointer itself, not about the size asked for.</summary>
    private static bool IsBadPointer(AllocError error) => error is AllocError.NotAllocated or AllocError.NotFound;
}
