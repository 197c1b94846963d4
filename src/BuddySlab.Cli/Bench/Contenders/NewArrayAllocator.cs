using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>The handle of the <c>NewArray</c> contender: the one-element array. A struct for the same reason as
/// <see cref="PooledArray"/> (workloads specialised for it, no covariant array-store checks).</summary>
public readonly struct ManagedBlock(Block64[] array)
{
    public readonly Block64[] Array = array;
}

/// <summary>
/// A managed allocation, <c>new Block64[1]</c>, as C# code gets a 64-byte object without any allocator: "free" only
/// drops the reference (the workload clears its slot), and the garbage collector reclaims it. So its figure
/// <b>includes the cost of garbage collection</b>: the gen0 collections its garbage triggers during the timed run
/// (what is left at the end is collected, untimed, by the runner before the next run). Entered for
/// <c>object-cache</c> only: it serves one object size.
/// </summary>
public readonly struct NewArrayAllocator : IBenchAllocator<ManagedBlock>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ManagedBlock Allocate(nuint size)
    {
        if (size > (nuint)Unsafe.SizeOf<Block64>()) ContenderThrow.TooLarge("new Block64[1]", size);
        return new(new Block64[1]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(ManagedBlock handle, nuint size) { }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(ManagedBlock handle) => ref Unsafe.As<Block64, byte>(ref MemoryMarshal.GetArrayDataReference(handle.Array));

    public void Dispose() { }
}
