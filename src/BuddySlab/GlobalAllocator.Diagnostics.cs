using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

// Sections and statistics (read under the buddy lock, so they are exact between calls), the statistics snapshot, the
// counters the page back end keeps, and what tests read of the allocator's inside. Whatever reads memory of the heap
// (thread caches, slabs, section headers) runs between EnterRead and ExitRead, so Dispose on another thread waits until it
// is done; a read makes no thread cache and is no use of the heap (a dashboard polling an idle heap never keeps it from
// its trim).
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>Starts a read of the heap's memory from any thread: counted (not a call on the thread's cache, so no cache is
    /// made for a thread that only reads, and the read is no use of the heap for the purge passes), and refused once
    /// <c>Dispose</c> has begun; <c>Dispose</c> waits for reads already counted before it returns any memory.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterRead()
    {
        if (!_ready) ThrowNotReady();
        Interlocked.Increment(ref _outsideCalls);       // a full fence: this or Dispose's flag is seen by the other
        if (_disposing)
        {
            Interlocked.Decrement(ref _outsideCalls);
            ThrowNotReady();
        }
    }

    /// <summary>Ends a read begun with <see cref="EnterRead"/>.</summary>
    private void ExitRead() => Interlocked.Decrement(ref _outsideCalls);

    /// <summary>Number of managed regions.</summary>
    public int SectionCount => _ready ? _pages.SectionCount : 0;

    /// <summary>A summary of region <paramref name="index"/>.</summary>
    public ManagedSection GetSection(int index)
    {
        EnterRead();
        try { return _pages.GetSection(index); }
        finally { ExitRead(); }
    }

    /// <summary>Bytes of managed pages.</summary>
    public nuint ManagedBytes => _ready ? _pages.ManagedBytes : 0;

    /// <summary>Bytes of pages the allocator keeps for its own structures (threads' magazines and run stacks, see
    /// <c>docs/design.md</c>): neither free nor counted in <see cref="AllocatedBytes"/>. They follow the threads that
    /// hold caches: a trim or a purge pass gives back every run of them no cache uses any more.</summary>
    public nuint MetadataBytes => _ready ? _pages.MetadataBytes : 0;

    /// <summary>Bytes of pages in use, slabs included (page occupancy, not requested bytes).</summary>
    public nuint AllocatedBytes => _ready ? _pages.AllocatedBytes : 0;

    /// <summary>Bytes that caches hold inside <see cref="AllocatedBytes"/>: objects in threads' magazines (exited threads'
    /// included) and in the depots, page runs on threads' stacks and in the CPUs' page caches, and the CPUs' cached empty
    /// slabs. What is left, <c>AllocatedBytes - CachedBytes</c>, is the live blocks plus the free slots of partly used
    /// slabs, the slabs' headers and remote frees not yet drained (<see cref="GetStatistics"/> counts those too). Read cache
    /// by cache under each cache's lock: exact between calls, approximate while other threads run.</summary>
    public nuint CachedBytes
    {
        get
        {
            EnterRead();
            try
            {
                (long magazines, long runs) = ThreadCacheBytes();
                long bytes = magazines + runs + _sharedDepot.CachedBytes;
                foreach (CpuCache cache in _cpus)
                {
                    cache.EnterAsVisitor();
                    bytes += cache.DepotBytes + cache.Pages.CachedBytes + (long)cache.Slabs.CachedEmptySlabBytes;
                    cache.ExitAsVisitor();
                }
                return (nuint)bytes;
            }
            finally { ExitRead(); }
        }
    }

    /// <summary>Bytes of the heap's memory resident in physical memory: the pages of every section and the metadata of
    /// those pages, as the system's <c>mincore</c> reports them on Linux (a walk of their page tables, nothing read or
    /// touched); 0 where the system cannot tell. Pages given back with <c>Trim()</c> or by purge passes are not resident
    /// until used again.</summary>
    public nuint ResidentBytes
    {
        get
        {
            EnterRead();
            try { return ReadResidentBytes(); }
            finally { ExitRead(); }
        }
    }

    /// <summary>A snapshot of what the heap holds: page counts, bytes in each kind of cache, the slabs of every size class,
    /// every section's free blocks by order, resident bytes, and the counters of releases, trims, growths, failed
    /// allocations and purge passes (see <see cref="HeapStatistics"/>). Exact after <see cref="Trim"/> with no other
    /// thread calling the heap; while others run, each part is read under its own lock in turn (see
    /// <see cref="HeapStatistics"/> for what that means). Costs a walk over every slab and every free block.</summary>
    public HeapStatistics GetStatistics()
    {
        EnterRead();
        try
        {
            (long magazines, long runs) = ThreadCacheBytes();
            long shared = _sharedDepot.CachedBytes;
            ReadOnlySpan<SizeClass> table = _table.Classes;
            var classes = new SizeClassStatistics[table.Length];
            for (int c = 0; c < classes.Length; c++)
                classes[c] = new SizeClassStatistics(c, table[c].ObjectSize, table[c].SlabPages, table[c].ObjectsPerSlab, 0, 0, 0, 0, 0);
            long depots = 0, pageRuns = 0;
            nuint emptySlabs = 0;
            foreach (CpuCache cache in _cpus)
            {
                cache.EnterAsVisitor();
                depots += cache.DepotBytes;
                pageRuns += cache.Pages.CachedBytes;
                emptySlabs += cache.Slabs.CachedEmptySlabBytes;
                cache.Slabs.AddClassStatistics(classes);
                cache.ExitAsVisitor();
            }
            nuint remote = 0;
            foreach (SizeClassStatistics c in classes) remote += c.RemoteFrees * (nuint)c.ObjectSize;
            var caches = new HeapCacheStatistics((nuint)magazines, (nuint)runs, (nuint)depots, (nuint)shared, (nuint)pageRuns,
                emptySlabs, remote);
            SectionStatistics[] sections = _pages.ReadSections();
            return new HeapStatistics(_pageSize, _pages.ManagedBytes, _pages.AllocatedBytes, ReadResidentBytes(), caches,
                classes, sections, _pages.ReleasedBytes, _pages.Trims, _pages.Growths, _pages.FailedAllocations,
                Volatile.Read(ref _pass), _pages.MetadataBytes);
        }
        finally { ExitRead(); }
    }

    /// <summary>Bytes of objects in every thread's magazines and of runs on their stacks, exited threads' caches not taken
    /// over yet included: each cache under its exchange lock (its own count), its stacks read as that count reads them.
    /// Under <c>_revokeLock</c>, so no cache is destroyed while it is read; the caller is inside a read.</summary>
    private (long Magazines, long Runs) ThreadCacheBytes()
    {
        if (!_useThreadCaches) return (0, 0);
        long total = 0, runs = 0;
        lock (_revokeLock)
        {
            List<ThreadCache> caches = SnapshotCaches();
            lock (_cachesLock) caches.AddRange(_orphans);
            foreach (ThreadCache tc in caches)
            {
                total += tc.CachedBytes(_pageSize);
                RunStack* stacks = tc.Runs;
                if (stacks == null) continue;
                for (int pages = 1; pages <= RunStack.MaxPages; pages++)
                    runs += (long)Volatile.Read(ref stacks[pages - 1].Count) * pages * _pageSize;
            }
        }
        return (Math.Max(0, total - runs), runs);
    }

    /// <summary>Resident bytes of every section's metadata in use and managed pages (see <see cref="ResidentBytes"/>).
    /// The ranges are taken under the buddy lock and measured after it, inside the caller's read: a region a purge pass
    /// releases meanwhile counts as not resident.</summary>
    private nuint ReadResidentBytes()
    {
        if (!ResidentPages.IsSupported) return 0;
        var ranges = new List<(nuint Start, nuint End)>();
        _pages.CollectUsedRanges(ranges);
        nuint bytes = 0;
        foreach (var (start, end) in ranges) bytes += ResidentPages.Count(start, end);
        return bytes;
    }

    // ---- what the metrics read (never throwing, never touching a disposed heap) ----

    /// <summary><see cref="CachedBytes"/>, or false once the heap is being disposed.</summary>
    internal bool TryGetCachedBytes(out nuint bytes)
    {
        bytes = 0;
        if (!_ready) return false;
        try { bytes = CachedBytes; }
        catch (ObjectDisposedException) { return false; }   // Dispose began after the check: nothing was read
        return true;
    }

    /// <summary><see cref="ResidentBytes"/>, or false where the system cannot tell or once the heap is being disposed.</summary>
    internal bool TryGetResidentBytes(out nuint bytes)
    {
        bytes = 0;
        if (!_ready || !ResidentPages.IsSupported) return false;
        try { bytes = ResidentBytes; }
        catch (ObjectDisposedException) { return false; }
        return true;
    }

    /// <summary>Bytes given back to the system so far (see <see cref="HeapStatistics.ReleasedBytes"/>); lock-free.</summary>
    internal ulong ReleasedBytes => _pages is null ? 0 : _pages.ReleasedBytes;

    /// <summary>Trims so far (see <see cref="HeapStatistics.Trims"/>); lock-free.</summary>
    internal long Trims => _pages is null ? 0 : _pages.Trims;

    /// <summary>Growths so far (see <see cref="HeapStatistics.Growths"/>); lock-free.</summary>
    internal long Growths => _pages is null ? 0 : _pages.Growths;

    /// <summary>Requests answered "no memory" so far (see <see cref="HeapStatistics.FailedAllocations"/>); lock-free.</summary>
    internal long FailedAllocations => _pages is null ? 0 : _pages.FailedAllocations;

    // ---- for tests ----

    /// <summary>What the depots and page caches may hold together until the next purge pass, and what they hold now.</summary>
    internal (long Limit, long Held) CacheBudgetBytes => (_budget.LimitBytes, _budget.HeldBytes);

    /// <summary>Full magazines on the shared depot's shelf of <paramref name="cls"/> (for tests).</summary>
    internal int SharedDepotFullCount(int cls) => _sharedDepot.FullCount(cls);

    /// <summary>Threads with a live cache of this allocator (for tests).</summary>
    internal int ThreadCacheCount
    {
        get { lock (_cachesLock) return _threadCaches.Count; }
    }

    /// <summary>The secret in free marks (<c>address ^ cookie</c> in a free object's first word), for tests.</summary>
    internal nuint FreeMarkCookie => _cookie;
}
