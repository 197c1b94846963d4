using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab.Diagnostics;

/// <summary>
/// Every throw site of the library, out of line so that the allocation and free paths stay small enough to inline;
/// each method formats its message only when it actually throws. Allocators report through
/// <see cref="AllocatorException"/> (its <see cref="AllocError"/> says what kind of problem, the message names the
/// address or size); any use after <c>Dispose</c> throws <see cref="ObjectDisposedException"/>. The partial files
/// beside this one hold the sites of the buddy heap and the typed object cache.
/// </summary>
internal static partial class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(AllocError error, string message) => throw new AllocatorException(error, message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotInitialized(string what) =>
        throw new AllocatorException(AllocError.NotInitialized, $"The {what} is not initialized: call Init first.");

    /// <summary>A use of <paramref name="what"/> after its <c>Dispose</c>.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Disposed(string what) =>
        throw new ObjectDisposedException(what, $"The {what} has been disposed; its memory is gone.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidCount(nuint count) =>
        throw new AllocatorException(AllocError.InvalidParam, $"Page count {count} is invalid: it must be at least 1 and its byte size must not overflow.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidAlignment(nuint alignment) =>
        throw new AllocatorException(AllocError.InvalidParam, $"Alignment {alignment} (0x{alignment:x}) is not a power of two.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NoMemory(nuint bytes, nuint alignment) =>
        throw new AllocatorException(AllocError.NoMemory, $"Out of memory: no free block of {bytes} bytes aligned to {alignment}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotAllocated(nuint address, string why) =>
        throw new AllocatorException(AllocError.NotAllocated, $"Address 0x{address:x} {why}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotFound(nuint address) =>
        throw new AllocatorException(AllocError.NotFound, $"Address 0x{address:x} is outside every managed region.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void DoubleFree(nuint address) => NotAllocated(address, "is already free (double free)");

    /// <summary>An address that is no live block: outside every region (<paramref name="inRegion"/> false), or in one.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NotLive(nuint address, bool inRegion)
    {
        if (!inRegion) NotFound(address);
        NotAllocated(address, "is not a live allocation (already freed, or never returned by this allocator)");
    }

    /// <summary>A pointer inside a page run rather than at its start.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InsideRun(nuint address, nuint start) =>
        NotAllocated(address, $"is inside the allocation at 0x{start:x}, not at its start");

    /// <summary>A sized free whose size and alignment do not map to the class of the object's slab.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void WrongClass(nuint address, nuint size, nuint alignment, bool inRegion)
    {
        if (!inRegion) NotFound(address);
        NotAllocated(address, $"is not an object of the size class for {size} bytes aligned to {alignment} (wrong size, or not an allocation)");
    }

    /// <summary>A page run freed through the other API than the one it came from.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void WrongApi(nuint address, bool pagesApi) =>
        NotAllocated(address, pagesApi
            ? "was allocated with AllocatePages: free it with FreePages"
            : "was allocated with Allocate: free it with Free");

    /// <summary>A call through a thread's handle after that thread exited (a new thread on the same stack).</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void HandleOfExitedThread() =>
        Throw(AllocError.InvalidParam, "This ThreadHeap belongs to a thread that has exited; each thread takes its own with ForCurrentThread().");

    /// <summary>A free refused under a lock (see <see cref="Diagnostics.FreeError"/>).</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void FreeError(FreeError error, nuint address)
    {
        if (error == Diagnostics.FreeError.DoubleFree) DoubleFree(address);
        NotAllocated(address, "is not the start of an object in its slab (interior or misaligned pointer)");
    }
}
