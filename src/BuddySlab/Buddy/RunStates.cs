namespace BuddySlab.Buddy;

/// <summary>
/// Run states beyond the public <see cref="PageFlags"/>, kept in a run's head record by the layers above.
/// <see cref="BuddyAllocator.GetPageFlags"/> reports them as <see cref="PageFlags.Allocated"/>: to the buddy they
/// are ordinary live runs.
/// </summary>
internal static class RunStates
{
    /// <summary>A run parked in a CPU's page cache: allocated in the buddy, free for the allocator above.</summary>
    public const PageFlags Cached = (PageFlags)3;

    /// <summary>A live run taken through the page API (<c>AllocatePages</c>): freed only through <c>FreePages</c>, while a
    /// large object (<see cref="PageFlags.Allocated"/>) is freed only through <c>Free</c>.</summary>
    public const PageFlags PageRun = (PageFlags)4;

    /// <summary>A run the allocator keeps for its own structures (its caches' metadata): never freed by a program.</summary>
    public const PageFlags Metadata = (PageFlags)5;
}
