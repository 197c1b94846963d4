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
}
