using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Diagnostics;
using BuddySlab.Slab;

namespace BuddySlab;

// Whole pages: the public page API, large objects, slab pages from and back to the buddy (through the per-CPU
// page caches), and growth. The buddy lock is taken here and nowhere it could nest with a CPU lock.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>Allocates <paramref name="count"/> whole pages aligned to <paramref name="alignment"/>.</summary>
    public nuint AllocatePages(nuint count, nuint alignment) => AllocatePagesCore(count, alignment, CallerBlock);

    /// <summary><see cref="AllocatePages"/> with the caller's thread cache: this thread's, or a <see cref="ThreadHeap"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal nuint AllocatePagesCore(nuint count, nuint alignment, ThreadCacheBlock* tc)
    {
        if (!TryAllocatePagesCore(count, alignment, tc, out nuint address)) ThrowHelper.NoMemory(count << _pageShift, alignment);
        return address;
    }

    /// <summary>As <see cref="AllocatePages"/>, answering <see langword="false"/> (and zero) when out of memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocatePages(nuint count, nuint alignment, out nuint address) => TryAllocatePagesCore(count, alignment, CallerBlock, out address);

    /// <summary><see cref="TryAllocatePages"/> with the caller's thread cache: this thread's, or a <see cref="ThreadHeap"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryAllocatePagesCore(nuint count, nuint alignment, ThreadCacheBlock* tc, out nuint address)
    {
        // The fast path: a page-aligned run of 1 to 16 pages popped from the caller's stack of that length.
        if (FitsRunStack(count, alignment) && tc != null && tc->Owner == Token)
        {
            RunStack* stack = tc->Runs + (count - 1);
            if (stack->Count != 0)
            {
                address = PopRun(stack);
                return true;
            }
        }
        return TryAllocatePagesSlow(count, alignment, tc, out address);
    }

    /// <summary>Every page request the fast path does not take: an empty stack (refilled from the CPU's cache), other
    /// lengths and alignments, a thread without a cache for this allocator, bad arguments.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocatePagesSlow(nuint count, nuint alignment, ThreadCacheBlock* tc, out nuint address)
    {
        EnsureReady();
        return TryPopThreadRun(tc, count, alignment, out address) || TryTakePages(count, alignment, lowMemory: false, out address);
    }

    /// <summary>Allocates pages whose physical range ends at or below 4 GiB.</summary>
    public nuint AllocatePagesLowMem(nuint count, nuint alignment)
    {
        EnsureReady();
        if (!TryTakePages(count, alignment, lowMemory: true, out nuint address)) ThrowHelper.NoMemory(count << _pageShift, alignment);
        return address;
    }

    /// <summary>Frees pages from <see cref="AllocatePages"/>; <paramref name="count"/> must be the allocation's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(nuint address, nuint count) => FreePagesCore(address, count, CallerBlock);

    /// <summary><see cref="FreePages"/> with the caller's thread cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreePagesCore(nuint address, nuint count, ThreadCacheBlock* tc)
    {
        // The fast path: a live run of 1 to 16 pages of the first region, by its head record, onto the caller's stack
        // of that length when it has room.
        nuint offset = address - _firstPages;
        if (offset < _firstPagesBytes && count - 1 < RunStack.MaxPages && tc != null && tc->Owner == Token)
        {
            PageRecord* head = FirstRegionRunHead(offset);
            RunStack* stack = tc->Runs + (count - 1);
            if (head != null && head->RunLength == count && head->Flags == PageFlags.Allocated && stack->Count != stack->Limit)
            {
                ParkRun(head, stack, address);
                return;
            }
        }
        FreePagesSlow(address, count, tc);
    }

    /// <summary>Every page free the fast path does not take: a full stack, other regions and lengths, bad input.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreePagesSlow(nuint address, nuint count, ThreadCacheBlock* tc)
    {
        EnsureReady();
        FreePageRun(address, count, tc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryAllocateLarge(nuint size, nuint alignment, ThreadCacheBlock* tc, out void* pointer)
    {
        pointer = null;
        if (size > nuint.MaxValue - (nuint)_pageSize || PagesFor(size) > (nuint.MaxValue >> _pageShift)) return false;
        nuint count = LargePages(size);
        bool ok = TryPopThreadRun(tc, count, alignment, out nuint address)
            || TryTakePages(count, Math.Max(alignment, (nuint)_pageSize), lowMemory: false, out address);
        pointer = (void*)address;
        return ok;
    }

    /// <summary>Pages from the CPU's cache or the buddy, marked allocated, growing the heap (when it can) until they fit.</summary>
    private bool TryTakePages(nuint count, nuint alignment, bool lowMemory, out nuint address)
    {
        if (!lowMemory && TryTakeCachedRun(count, alignment, out address)) return true;
        bool reclaimed = false;
        while (true)
        {
            int growthsSeen = GrowthCount;
            _buddyLock.Enter();
            bool ok;
            try
            {
                ok = lowMemory ? _buddy.TryAllocatePagesLowMem(count, alignment, out address) : _buddy.TryAllocatePages(count, alignment, out address);
            }
            finally { _buddyLock.Exit(); }
            if (ok) return true;
            if (!lowMemory && Grow is { } grow && grow(count << _pageShift, alignment, growthsSeen)) continue;
            // No more memory to be had: what the caches hold goes back to the buddy once, then the request fails for good.
            if (reclaimed || count > _buddy.ManagedBytes >> _pageShift) return false;
            reclaimed = true;
            ReclaimCaches();
        }
    }

    /// <summary>A run of 1 to <see cref="RunStack.MaxPages"/> pages from the thread's stack of that length (refilled from
    /// the CPU's cache when empty), for an alignment a page satisfies; false otherwise, leaving it to the page cache and
    /// the buddy (which also judge bad arguments).</summary>
    private bool TryPopThreadRun(ThreadCacheBlock* tc, nuint count, nuint alignment, out nuint run)
    {
        run = 0;
        return FitsRunStack(count, alignment) && RunCacheOf(tc) is var own && own != null && TryPopRun(own, own->Runs + (count - 1), count, out run);
    }

    /// <summary>True for a request a thread's run stacks serve: 1 to <see cref="RunStack.MaxPages"/> pages, aligned to a
    /// power of two no larger than a page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FitsRunStack(nuint count, nuint alignment) =>
        count - 1 < RunStack.MaxPages && alignment - 1 < (nuint)_pageSize && (alignment & (alignment - 1)) == 0;

    /// <summary>The thread cache whose run stacks a page call uses: the caller's, or this thread's, made on first use, so a
    /// thread that only ever takes pages gets the lock-free stacks too; null with <see cref="ThreadCaches"/> off.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ThreadCacheBlock* RunCacheOf(ThreadCacheBlock* tc) => tc != null && tc->Owner == Token ? tc : _useThreadCaches ? CurrentThreadCache().Block : null;

    private void FreePageRun(nuint address, nuint count, ThreadCacheBlock* tc)
    {
        PageRecord* head = RunHead(address);
        if (head != null && head->RunLength == count && head->Flags == PageFlags.Allocated && count <= PageRunCache.MaxPages)
        {
            if (count <= RunStack.MaxPages && RunCacheOf(tc) is var own && own != null)
            {
                RunStack* stack = own->Runs + (count - 1);
                if (stack->Count == stack->Limit)
                {
                    ReapThreadRunsIfDue(own);
                    if (stack->Count == stack->Limit) SpillRuns(stack, count);
                }
                ParkRun(head, stack, address);
                return;
            }
            CacheRun(head, address, count);
            return;
        }
        FreePageRunToBuddy(address, count, head);
    }

    private void FreePageRunToBuddy(nuint address, nuint count, PageRecord* head)
    {
        _buddyLock.Enter();
        try
        {
            if (_buddy.IsSlabRunAt(address)) ThrowHelper.NotAllocated(address, "is a slab of the small-object layer, not a page allocation");
            if (head != null && head->Flags == RunStates.Cached) ThrowHelper.NotAllocated(address, "is already free (double free)");
            _buddy.FreePages(address, count);
        }
        finally { _buddyLock.Exit(); }
        PurgeIfDue();
    }

    private void ShrinkPageRun(nuint address, nuint count, nuint newCount)
    {
        _buddyLock.Enter();
        try { _buddy.ShrinkPages(address, count, newCount); }
        finally { _buddyLock.Exit(); }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseSlabs(CpuCache cache)
    {
        // Emptied slabs go to the CPU's page cache; the runs they displace from it (and slabs too large for it) to the buddy.
        nuint chain = 0;
        cache.Lock.Enter();
        SlabHeader* released = cache.Slabs.TakeReleasable();
        while (released != null)
        {
            SlabHeader* next = released->Next;
            nuint pages = released->SlabBytes >> _pageShift;
            released->Magic = 0;
            if (pages <= PageRunCache.MaxPages)
            {
                RunHead((nuint)released)->Flags = RunStates.Cached;
                nuint evicted = cache.Pages.Put((nuint)released, (int)pages);
                if (evicted != 0) chain = Link(evicted, pages, chain);
            }
            else chain = Link((nuint)released, pages, chain);
            released = next;
        }
        cache.Lock.Exit();
        FreeChain(chain);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nuint PagesFor(nuint size) => (size + (nuint)_pageSize - 1) >> _pageShift;

    /// <summary>Pages of a block that takes pages: at least one, even for a zero-size request with a large alignment.</summary>
    private nuint LargePages(nuint size) => size == 0 ? 1 : PagesFor(size);

    /// <summary>Takes up to <paramref name="bytes"/> more of the first region's reservation into use; answers the bytes added.</summary>
    internal nuint GrowInPlace(nuint bytes)
    {
        _buddyLock.Enter();
        try
        {
            nuint pages = _buddy.GrowSection(0, bytes >> _pageShift);
            if (pages != 0) _growthCount++;
            return pages << _pageShift;
        }
        finally { _buddyLock.Exit(); }
    }

    /// <summary>Bytes of the first region's reservation not yet in use.</summary>
    internal nuint ReservedBytesLeft
    {
        get
        {
            _buddyLock.Enter();
            try { return _buddy.ReservedPagesLeft(0) << _pageShift; }
            finally { _buddyLock.Exit(); }
        }
    }

    /// <summary>Gives free pages back to the operating system on <see cref="Trim"/>; set by the native heap, whose regions
    /// are its own mappings. Never set for caller-provided regions.</summary>
    internal Action<nuint, nuint>? Discard;

    /// <summary>How often, in milliseconds, free page runs that stayed free for a whole interval go back to the OS
    /// through <see cref="PurgeLazily"/> (or <see cref="Discard"/>); 0: only on <see cref="Trim"/>. Set by the native heap.</summary>
    internal long PurgeIntervalMilliseconds
    {
        get => _purgeIntervalMilliseconds;
        set
        {
            _purgeIntervalMilliseconds = Math.Max(0, value);
            if (_sharedDepot is not null) _sharedDepot.Reaping = _purgeIntervalMilliseconds > 0;   // passes reap the shared depot
            foreach (CpuCache cache in _cpus)                                                        // and the page caches
            {
                cache.Lock.Enter();
                cache.Pages.Reaping = _purgeIntervalMilliseconds > 0;
                cache.Lock.Exit();
            }
        }
    }

    private long _purgeIntervalMilliseconds;

    /// <summary>Offers free pages to the OS to take when it needs memory (pages a purge pass gives back: they may well be
    /// used again soon). Set by the native heap; <see cref="Trim"/> uses <see cref="Discard"/>, which takes them at once.</summary>
    internal Action<nuint, nuint>? PurgeLazily;

    private long _nextPurgeTick;

    /// <summary>The smallest free block given back: 16 pages (64 KiB with 4 KiB pages).</summary>
    private const int PurgeMinOrder = 4;

    /// <summary>Runs a purge pass when one is due: full magazines no thread took from the shared depot since the last pass
    /// go back to their slabs, remote frees still waiting for their owner are drained, long-free page runs go back to the
    /// OS and empty added regions are released. Called after page runs go back to the buddy, so a
    /// heap that frees pages does this without a thread of its own; an idle heap waits for its next such free or
    /// <see cref="Trim"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PurgeIfDue()
    {
        if (_purgeIntervalMilliseconds > 0 && Environment.TickCount64 >= Volatile.Read(ref _nextPurgeTick)) Purge();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Purge()
    {
        long due = Volatile.Read(ref _nextPurgeTick), now = Environment.TickCount64;
        // One thread per interval runs the pass; the others go on.
        if (now < due || Interlocked.CompareExchange(ref _nextPurgeTick, now + _purgeIntervalMilliseconds, due) != due) return;
        PurgePass();
    }

    /// <summary>One purge pass, whenever it is called (the clock is <see cref="Purge"/>'s business; tests call this).</summary>
    internal void PurgePass()
    {
        // The next pass is an interval away, also when a test calls this by hand: the frees below must not start one.
        Volatile.Write(ref _nextPurgeTick, Environment.TickCount64 + _purgeIntervalMilliseconds);
        ReapSharedDepot();
        ReapPageCaches();
        // Remote frees whose owner has not come back to their class: drained here, so their slabs can empty and go back.
        foreach (CpuCache cache in _cpus)
        {
            if (!cache.Slabs.HasPending) continue;
            cache.Lock.Enter();
            cache.Slabs.DrainAllPending();
            bool release = cache.Slabs.HasReleasable;
            cache.Lock.Exit();
            if (release) ReleaseSlabs(cache);
        }
        List<(nuint Start, nuint End)>? released = null;
        _buddyLock.Enter();
        try
        {
            if ((PurgeLazily ?? Discard) is { } discard) _buddy.DiscardLongFreeBlocks(PurgeMinOrder, discard);
            if (ReleaseRegion is not null && _buddy.SectionCount > 1)
            {
                // Added regions that were entirely free at the previous pass and still are go back whole.
                HashSet<nuint> seen = _freeRegionsAtLastPurge;
                if (seen.Count > 0) released = _buddy.RemoveFreeSections(seen.Contains);
                _buddy.CollectFreeSections(seen);
            }
        }
        finally { _buddyLock.Exit(); }
        if (released is not null)
            foreach (var (start, end) in released) ReleaseRegion!(start, end - start);
    }

    private readonly HashSet<nuint> _freeRegionsAtLastPurge = [];

    /// <summary>Takes back, on <see cref="Trim"/>, a region (start, bytes) that held nothing any more and is no longer
    /// managed; set by the native heap for the regions it added. The first region is never released.</summary>
    internal Action<nuint, nuint>? ReleaseRegion;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateWithNewSlab(CpuCache cache, int cls, out void* pointer)
    {
        int slabBytes = _table.SlabBytes[cls];
        if (!TryTakePages((nuint)(slabBytes >> _pageShift), (nuint)slabBytes, lowMemory: false, out nuint slab))
        {
            pointer = null;
            return false;
        }
        // The objects carry their free marks and the record its class before the record says "slab": a free that
        // finds a slab record may rely on both.
        SlabHeader.MarkAllFree(slab, _table.Classes[cls], _cookie);
        PageRecord* head = _buddy.RunHeadRecord(slab);
        head->SlabClass = (byte)cls;
        Volatile.Write(ref Unsafe.As<PageFlags, byte>(ref head->Flags), (byte)PageFlags.Slab);
        cache.Lock.Enter();
        cache.Slabs.AddSlabUnchecked(cls, slab);
        nuint address = cache.Slabs.TryAllocate(cls);
        cache.Lock.Exit();
        *(nuint*)address = 0;      // the pages may hold an old magazine mark at this very address
        pointer = (void*)address;
        return true;
    }
}
