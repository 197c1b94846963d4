using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// The allocation entry points the C shim calls (not exported from the library: the shim owns the malloc symbols).
/// <para>Each runs with the calling thread marked busy by the shim, so whatever the heap or the runtime allocate
/// meanwhile comes from glibc. No exception leaves them: out of memory answers null (the shim sets
/// <c>errno = ENOMEM</c>), a pointer outside the heap answers "foreign" (the shim hands it to glibc), and a bad pointer
/// inside the heap goes to <see cref="BadPointer"/>.</para>
/// <para>Until the library offers an ownership test and a free that answers its error, ownership is
/// <see cref="HeapRanges"/> and errors are caught exceptions; glibc's pointers are told apart before the heap is asked,
/// so an exception is only ever thrown for a program's bad pointer.</para>
/// </summary>
internal static unsafe class AllocationExports
{
    private const int Freed = 0, Foreign = 1;

    [UnmanagedCallersOnly(EntryPoint = "bsm_malloc")]
    private static void* Malloc(nuint size)
    {
        try
        {
            return ProcessHeap.Allocator.Allocate(size);
        }
        catch (Exception)
        {
            return null;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bsm_memalign")]
    private static void* Memalign(nuint alignment, nuint size)
    {
        try
        {
            return ProcessHeap.Allocator.TryAllocate(size, alignment, out void* pointer) ? pointer : null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bsm_free")]
    private static int Free(void* pointer)
    {
        if (!HeapRanges.Contains(pointer)) return CountForeign();
        try
        {
            ProcessHeap.Allocator.Free(pointer);
        }
        catch (AllocatorException e) when (e.Error == AllocError.NotFound)
        {
            return CountForeign();
        }
        catch (AllocatorException e)
        {
            BadPointer.Report("free", pointer, e);
        }
        return Freed;
    }

    [UnmanagedCallersOnly(EntryPoint = "bsm_realloc")]
    private static void* Realloc(void* pointer, nuint size, int* foreign)
    {
        if (!HeapRanges.Contains(pointer))
        {
            *foreign = CountForeign();
            return null;
        }
        try
        {
            return ProcessHeap.Allocator.Reallocate(pointer, size);
        }
        catch (AllocatorException e) when (e.Error == AllocError.NotFound)
        {
            *foreign = CountForeign();
        }
        catch (AllocatorException e) when (e.Error == AllocError.NotAllocated)
        {
            BadPointer.Report("realloc", pointer, e);
        }
        catch (Exception)
        {
            // out of memory: the block stays where it was
        }
        return null;
    }

    [UnmanagedCallersOnly(EntryPoint = "bsm_usable_size")]
    private static nuint UsableSize(void* pointer, int* foreign)
    {
        if (!HeapRanges.Contains(pointer))
        {
            *foreign = Foreign;
            return 0;
        }
        try
        {
            return ProcessHeap.Allocator.UsableSize(pointer);
        }
        catch (AllocatorException e) when (e.Error == AllocError.NotFound)
        {
            *foreign = Foreign;
        }
        catch (AllocatorException e)
        {
            BadPointer.Report("malloc_usable_size", pointer, e);
        }
        return 0;
    }

    private static int CountForeign()
    {
        Interlocked.Increment(ref ProcessHeap.ForeignCalls);
        return Foreign;
    }
}
