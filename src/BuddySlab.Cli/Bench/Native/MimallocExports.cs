namespace BuddySlab.Cli.Bench.Native;

/// <summary>The entry points of mimalloc, called through unmanaged function pointers.</summary>
public sealed unsafe class MimallocExports
{
    public required delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> Malloc { get; init; }
    public required delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> Free { get; init; }
    /// <summary>mi_malloc_aligned(size, alignment).</summary>
    public required delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*> MallocAligned { get; init; }
}
