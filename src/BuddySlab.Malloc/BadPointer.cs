namespace BuddySlab.Malloc;

/// <summary>
/// Reports a pointer the heap refused (a double free, an interior or stale pointer, one it never handed out) the way
/// glibc reports a corrupted heap: one line on standard error naming the call and the address, then SIGABRT; or, with
/// <c>BUDDYSLAB_MALLOC_ON_ERROR=ignore</c>, the line only, and the call does nothing. The heap is unchanged either way.
/// </summary>
internal static unsafe class BadPointer
{
    public static void Report(string call, void* pointer, AllocatorException error)
    {
        Interlocked.Increment(ref ProcessHeap.BadPointers);
        Libc.WriteError($"buddyslab-malloc: {call}(0x{(nuint)pointer:x}): invalid pointer: {error.Message}\n");
        if (ProcessHeap.AbortOnError) Libc.Abort();
    }
}
