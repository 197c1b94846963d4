using System.Runtime.InteropServices;

namespace BuddySlab;

/// <summary>
/// Regions from the operating system for <see cref="NativeHeap"/>. Large aligned blocks from the runtime's
/// native allocator are mapped on demand by the OS, so an unused part of a region costs address space only.
/// </summary>
internal static unsafe class OsMemory
{
    public static void* Reserve(nuint bytes, nuint alignment)
    {
        try { return NativeMemory.AlignedAlloc(bytes, alignment); }
        catch (OutOfMemoryException) { return null; }
    }

    public static void Release(void* region) => NativeMemory.AlignedFree(region);
}
