namespace BuddySlab.Caches;

/// <summary>
/// What a <see cref="ThreadCache"/> knows of the allocator it caches for: the allocator takes over the cache of a
/// thread that exited. (The owner's token, which the fast paths compare, sits in the cache's
/// <see cref="ThreadCacheBlock"/>.)
/// </summary>
internal interface IThreadCacheOwner
{
    /// <summary>Called once the cache's thread has exited: the owner flushes and destroys the cache in its own time.</summary>
    void Orphan(ThreadCache cache);

    /// <summary>The cookie of the allocator's free marks (see <see cref="Magazine"/>).</summary>
    nuint Cookie { get; }

    /// <summary>Where the cache's magazines and run stacks come from (the allocator's own pages).</summary>
    MetadataArena Arena { get; }
}
