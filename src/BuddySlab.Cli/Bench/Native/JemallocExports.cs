namespace BuddySlab.Cli.Bench.Native;

/// <summary>The entry points of jemalloc (plain <c>malloc</c>, or <c>je_malloc</c> in prefixed builds).</summary>
public sealed unsafe class JemallocExports
{
    public required delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> Malloc { get; init; }
    public required delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> Free { get; init; }
    /// <summary>aligned_alloc(alignment, size): note the argument order.</summary>
    public required delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*> AlignedAlloc { get; init; }
}
