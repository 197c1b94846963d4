namespace BuddySlab.Caches;

/// <summary>
/// The thread caches of one thread, one per allocator it used, held by a thread-static reference (and by the
/// thread's handles on those allocators). When the thread has exited and nothing else holds the set, its finalizer
/// hands each cache to its owner as an orphan, to be flushed there.
/// </summary>
internal sealed class ThreadCacheSet
{
    public readonly List<ThreadCache> Caches = [];

    /// <summary>This thread's live cache of <paramref name="owner"/>, or null.</summary>
    public ThreadCache? Find(IThreadCacheOwner owner)
    {
        foreach (ThreadCache cache in Caches)
            if (cache.Owner == owner) return cache;
        return null;
    }

    ~ThreadCacheSet()
    {
        foreach (ThreadCache cache in Caches)
        {
            cache.Owner?.Orphan(cache);
            cache.ReleaseBlock();       // no thread-static points at the block any more
        }
    }
}
