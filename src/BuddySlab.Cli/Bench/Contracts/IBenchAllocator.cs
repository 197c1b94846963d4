namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// A small-object allocator as the workloads see it. Implemented by <b>structs</b> only: every workload is a
/// generic method over <c>TAllocator : struct, IBenchAllocator&lt;THandle&gt;</c>, so the JIT compiles one copy of the
/// timed loop per contender and inlines these calls: there is no interface dispatch in the loop.
/// <para>
/// <typeparamref name="THandle"/> is what the contender hands out: <see cref="nint"/> (the address) for native
/// allocators, a <c>PooledArray</c> for <c>ArrayPool</c>, whose memory is a managed array that must not be
/// turned into a raw pointer without pinning. Workloads store handles, never pointers, and reach the bytes with
/// <see cref="Data"/>, a <c>ref byte</c> to the first byte: for native memory that is the pointer itself, for an
/// array it is <c>MemoryMarshal.GetArrayDataReference</c>, valid while the array is referenced (the GC updates
/// the ref if it moves the array), with no pinning cost.
/// </para>
/// <para>
/// A contender is created once per repetition (warm-up and timed run share it) and disposed after. Copies of
/// it are used from several threads at once in the threaded workloads, so it must hold no per-copy state.
/// </para>
/// </summary>
public interface IBenchAllocator<THandle> : IDisposable where THandle : struct
{
    /// <summary>Allocates at least <paramref name="size"/> bytes (8 to 4096 in the workloads); never fails silently.</summary>
    THandle Allocate(nuint size);

    /// <summary>Frees a handle from <see cref="Allocate"/>, with the size it was requested with.</summary>
    void Free(THandle handle, nuint size);

    /// <summary>The first byte of the allocation; the workload writes and checks bytes from here.</summary>
    ref byte Data(THandle handle);
}
