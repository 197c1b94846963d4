using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Slab;

namespace BuddySlab;

// Whole pages: the public page API and large objects, through three tiers for runs of 1 to 16 pages (the caller's
// run stack of that length, then the CPU's page-run cache, then the buddy) and straight to the buddy beyond; slab
// pages on their way in (a new slab) and out (emptied slabs); and growth when the buddy runs dry. The buddy lock is
// the page back end's business: nothing here holds a CPU lock while calling it.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>Allocates <paramref name="count"/> whole pages aligned to <paramref name="alignment"/>. Such a run is
    /// freed with <see cref="FreePages"/> only: <c>Free</c> refuses it (and <c>FreePages</c> refuses a block from
    /// <c>Allocate</c>), so a slab of an object cache or a region handed to another allocator cannot go back the wrong way.</summary>
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
        if (FitsRunStack(count, alignment) && tc != null)
        {
            if (ThreadCacheBlock.Enter(tc, Token))
            {
                RunStack* stack = tc->Runs + (count - 1);
                if (stack->Count != 0)
                {
                    address = PopRun(stack, RunStates.PageRun);
                    ThreadCacheBlock.Exit(tc);
                    return true;
                }
            }
            ThreadCacheBlock.Exit(tc);
        }
        return TryAllocatePagesSlow(count, alignment, tc, out address);
    }

    /// <summary>Every page request the fast path does not take, in a call of its own: an empty stack (refilled from the
    /// CPU's cache), other lengths and alignments, a thread without a cache for this allocator, bad arguments.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocatePagesSlow(nuint count, nuint alignment, ThreadCacheBlock* caller, out nuint address)
    {
        ThreadCache? tc = EnterCall(caller);
        try
        {
            EnsureReady();
            ThreadCacheBlock* own = tc is null ? null : tc.Block;
            bool ok = TryPopThreadRun(own, count, alignment, out address) || TryTakePages(count, alignment, lowMemory: false, out address);
            if (ok) RunHead(address)->Flags = RunStates.PageRun;
            return ok;
        }
        finally { ExitCall(tc); }
    }

    /// <summary>Allocates pages whose physical range ends at or below 4 GiB (freed with <see cref="FreePages"/>).</summary>
    public nuint AllocatePagesLowMem(nuint count, nuint alignment)
    {
        ThreadCache? tc = EnterCall();
        try
        {
            EnsureReady();
            if (!TryTakePages(count, alignment, lowMemory: true, out nuint address)) ThrowHelper.NoMemory(count << _pageShift, alignment);
            RunHead(address)->Flags = RunStates.PageRun;
            return address;
        }
        finally { ExitCall(tc); }
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
        if (tc != null)
        {
            if (ThreadCacheBlock.Enter(tc, Token) && TryPushOwnRun(address, count, RunStates.PageRun, tc))
            {
                ThreadCacheBlock.Exit(tc);
                return;
            }
            ThreadCacheBlock.Exit(tc);
        }
        FreePagesSlow(address, count, tc);
    }

    /// <summary>Pushes a live run of the first region onto the armed caller's stack of its length: true when the run's
    /// head record says it is a live run of exactly <paramref name="count"/> pages of kind <paramref name="kind"/> (pages
    /// or a large object) and the stack has room; otherwise nothing changes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryPushOwnRun(nuint address, nuint count, PageFlags kind, ThreadCacheBlock* tc)
    {
        nuint offset = address - _firstPages;
        if (offset >= _firstPagesBytes || count - 1 >= RunStack.MaxPages) return false;
        PageRecord* head = FirstRegionRunHead(offset);
        RunStack* stack = tc->Runs + (count - 1);
        if (head == null || head->RunLength != count || head->Flags != kind || stack->Count == stack->Limit) return false;
        PushRun(head, stack, address);
        return true;
    }

    /// <summary>Every page free the fast path does not take, in a call of its own: a full stack, other regions and
    /// lengths, bad input.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreePagesSlow(nuint address, nuint count, ThreadCacheBlock* caller)
    {
        ThreadCache? tc = EnterCall(caller);
        try
        {
            EnsureReady();
            FreePageRun(address, count, tc is null ? null : tc.Block, RunStates.PageRun);
        }
        finally { ExitCall(tc); }
    }

    /// <summary>A default-aligned request that takes pages: first the caller's stack of runs of its length, marked in
    /// flight on the caller's block, without the class lookup or the call of the general path; then that path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocatePageRun(nuint size, ThreadCacheBlock* tc)
    {
        if (tc != null && size <= (nuint)_pageSize * RunStack.MaxPages)
        {
            if (ThreadCacheBlock.Enter(tc, Token))
            {
                RunStack* stack = tc->Runs + (LargePages(size) - 1);
                if (stack->Count != 0)
                {
                    nuint run = PopRun(stack, PageFlags.Allocated);
                    ThreadCacheBlock.Exit(tc);
                    return (void*)run;
                }
            }
            ThreadCacheBlock.Exit(tc);
        }
        return AllocateSlow(size, tc);
    }

    /// <summary>A free of a block that may be a page run, before any call is entered: the caller's stack of its length
    /// takes it when its head record says it is a large object of that many pages (<paramref name="count"/> 0: any
    /// length up to a stack's) and the stack has room. False leaves it to the general path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryFreeRunQuick(nuint address, nuint count, ThreadCacheBlock* tc)
    {
        if (tc == null) return false;
        bool done = false;
        if (ThreadCacheBlock.Enter(tc, Token))
        {
            nuint offset = address - _firstPages;
            PageRecord* head = offset < _firstPagesBytes ? FirstRegionRunHead(offset) : null;
            if (head != null && (count == 0 || count == head->RunLength)) done = TryPushOwnRun(address, head->RunLength, PageFlags.Allocated, tc);
        }
        ThreadCacheBlock.Exit(tc);
        return done;
    }

    /// <summary>A block that takes pages: a page run of its size, aligned to at least a page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryAllocateLarge(nuint size, nuint alignment, ThreadCacheBlock* tc, out void* pointer)
    {
        pointer = null;
        if (size > nuint.MaxValue - (nuint)_pageSize || PagesFor(size) > (nuint.MaxValue >> _pageShift))
        {
            _pages.CountFailedAllocation();
            return false;
        }
        nuint count = LargePages(size);
        bool ok = TryPopThreadRun(tc, count, alignment, out nuint address)
            || TryTakePages(count, Math.Max(alignment, (nuint)_pageSize), lowMemory: false, out address);
        pointer = (void*)address;
        return ok;
    }

    /// <summary>Pages from the CPU's cache or the buddy, marked allocated, growing the heap (when it can) until they fit.
    /// When nothing more can be had, everything the caches hold goes back to the buddy once and the request is tried again.</summary>
    private bool TryTakePages(nuint count, nuint alignment, bool lowMemory, out nuint address)
    {
        if (!lowMemory && TryTakeCachedRun(count, alignment, out address)) return true;
        bool flushed = false;
        while (true)
        {
            int growthsSeen = _pages.GrowthCount;
            if (_pages.TryAllocate(count, alignment, lowMemory, out address)) return true;
            if (!lowMemory && _pages.TryGrow(count << _pageShift, alignment, growthsSeen)) continue;
            // No block of its order and no growth: a large run may still fit across consecutive free blocks.
            if (count > PageRunCache.MaxPages && _pages.TryAllocateSpanning(count, alignment, lowMemory, out address)) return true;
            if (flushed || count > _pages.Buddy.ManagedBytes >> _pageShift)
            {
                _pages.CountFailedAllocation();
                return false;
            }
            flushed = true;
            FlushAllCaches(revokeOthers: true);
        }
    }

    // ---- the thread's run stacks ----

    /// <summary>True for a request a thread's run stacks serve: 1 to <see cref="RunStack.MaxPages"/> pages, aligned to a
    /// power of two no larger than a page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FitsRunStack(nuint count, nuint alignment) =>
        count - 1 < RunStack.MaxPages && alignment - 1 < (nuint)_pageSize && (alignment & (alignment - 1)) == 0;

    /// <summary>A run of 1 to <see cref="RunStack.MaxPages"/> pages from the thread's stack of that length (refilled from
    /// the CPU's cache when empty), for an alignment a page satisfies; false otherwise, leaving it to the page cache and
    /// the buddy (which also judge bad arguments).</summary>
    private bool TryPopThreadRun(ThreadCacheBlock* tc, nuint count, nuint alignment, out nuint run)
    {
        run = 0;
        return FitsRunStack(count, alignment) && tc != null && TryPopRun(tc, tc->Runs + (count - 1), count, out run);
    }

    /// <summary>Pops a run of <paramref name="count"/> pages from a thread's stack, refilling the stack first when it is
    /// empty (<see cref="RefillRuns"/>); false when the stack and the caches it refills from are empty.</summary>
    private bool TryPopRun(ThreadCacheBlock* tc, RunStack* stack, nuint count, out nuint run)
    {
        if (stack->Count == 0)
        {
            PurgeThreadRunsIfDue(tc);
            stack->Asked = 1;                                           // asked of the stack, even if none comes
            int full = RunStack.LimitFor((int)count);
            if (stack->Limit < full) stack->Limit = Math.Min(full, stack->Limit * 2);   // taking again: no longer draining
            if (!RefillRuns(stack, (int)count))
            {
                run = 0;
                return false;
            }
        }
        run = PopRun(stack, PageFlags.Allocated);
        return true;
    }

    /// <summary>Fills an empty thread stack of <paramref name="count"/>-page runs with up to <see cref="RunStack.RefillFor"/>
    /// runs: from the CPU's cache, or, when it has none of that length, from the first of the next few CPUs' caches that
    /// has some and whose lock is free. A thread that allocates what threads on other CPUs free (a pipe's writer) finds
    /// the runs where they went instead of splitting new ones while those wait. False when it found none.</summary>
    private bool RefillRuns(RunStack* stack, int count)
    {
        int want = RunStack.RefillFor(count, stack->Limit);
        CpuCache home = CurrentCpu();
        home.Lock.Enter();
        int n = TakeRuns(home, stack, count, want);
        home.Lock.Exit();
        CpuCache[] cpus = _cpus;
        for (int i = 1; n == 0 && i <= Math.Min(cpus.Length - 1, MaxRefillProbes); i++)
        {
            CpuCache other = cpus[(home.Slabs.Cpu + i) % cpus.Length];
            if (other.Pages.Count(count) == 0 || !other.TryEnterAsVisitor()) continue;   // a peek without the lock: a hint only
            n = TakeRuns(other, stack, count, want);
            other.ExitAsVisitor();
        }
        stack->Count = n;
        return n != 0;
    }

    /// <summary>Other CPUs' caches a refill looks at when its own has no run of the length.</summary>
    private const int MaxRefillProbes = 3;

    /// <summary>Moves up to <paramref name="want"/> runs of <paramref name="count"/> pages from a CPU's cache (its lock held)
    /// to an empty thread stack; answers how many.</summary>
    private static int TakeRuns(CpuCache cache, RunStack* stack, int count, int want)
    {
        int n = 0;
        for (nuint taken; n < want && (taken = cache.Pages.Take(count)) != 0;) stack->Items[n++] = taken;
        return n;
    }

    /// <summary>Takes the newest run off a non-empty thread stack and marks it live as <paramref name="kind"/>: pages
    /// (<see cref="RunStates.PageRun"/>) or a large object (<see cref="PageFlags.Allocated"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nuint PopRun(RunStack* stack, PageFlags kind)
    {
        int n = --stack->Count;
        stack->Asked = 1;
        if (n < stack->LowWater) stack->LowWater = n;
        nuint run = (nuint)stack->Items[n];
        RunHead(run)->Flags = kind;
        return run;
    }

    /// <summary>Pushes a live run, whose head record the caller checked, on a thread stack with room: marked cached, so a
    /// second free of it is refused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PushRun(PageRecord* head, RunStack* stack, nuint address)
    {
        head->Flags = RunStates.Cached;
        stack->Items[stack->Count++] = address;
    }

    /// <summary>Frees a page run a program handed back, inside a call, which must be live as <paramref name="kind"/> (pages
    /// from the page API, or a large object): onto the thread's stack of its length, or the CPU's cache, or (longer runs,
    /// and anything not exactly a live run) to the page back end, which judges it.</summary>
    private void FreePageRun(nuint address, nuint count, ThreadCacheBlock* tc, PageFlags kind)
    {
        PageRecord* head = RunHead(address);
        if (head != null && head->RunLength == count && (head->Flags == PageFlags.Allocated || head->Flags == RunStates.PageRun) && head->Flags != kind)
            ThrowHelper.WrongApi(address, pagesApi: head->Flags == RunStates.PageRun);
        if (head != null && head->RunLength == count && head->Flags == kind && count <= PageRunCache.MaxPages)
        {
            if (count <= RunStack.MaxPages && tc != null)
            {
                RunStack* stack = tc->Runs + (count - 1);
                if (stack->Count == stack->Limit)
                {
                    PurgeThreadRunsIfDue(tc);
                    if (stack->Count == stack->Limit) SpillRuns(stack, count);
                }
                PushRun(head, stack, address);
                return;
            }
            CacheRun(head, address, count);
            return;
        }
        _pages.FreeProgramRun(address, count, head);
    }

    /// <summary>Makes room on a full thread stack of <paramref name="count"/>-page runs: its older runs go to the CPU's cache
    /// and it keeps half its limit. When no run of this length was asked of it since the last purge step, the thread only
    /// frees the length (it drains runs other threads allocate): what it parks would only wait, so the limit halves
    /// first, down to <see cref="RunStack.MinLimitFor"/>. <see cref="TryPopRun"/> doubles it back when the thread asks.</summary>
    private void SpillRuns(RunStack* stack, nuint count)
    {
        if (stack->Asked == 0) stack->Limit = Math.Max(RunStack.MinLimitFor((int)count), stack->Limit / 2);
        int keep = stack->Limit / 2;
        FlushRunsToCpu(stack, count, stack->Count - keep);
    }

    /// <summary>Moves the <paramref name="n"/> oldest runs of a thread's stack of <paramref name="count"/>-page runs to the
    /// CPU's cache in one locked step; the runs they displace from it go to the buddy.</summary>
    private void FlushRunsToCpu(RunStack* stack, nuint count, int n)
    {
        var displaced = new RunChain();
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        for (int i = 0; i < n; i++)
        {
            nuint evicted = cache.Pages.Put((nuint)stack->Items[i], (int)count);
            if (evicted != 0) displaced.Add(evicted, count);
        }
        cache.Lock.Exit();
        for (int i = n; i < stack->Count; i++) stack->Items[i - n] = stack->Items[i];
        stack->Count -= n;
        if (stack->Count < stack->LowWater) stack->LowWater = stack->Count;
        FreeRuns(displaced);
    }

    /// <summary>Moves every run of a thread's stacks to the CPU's cache.</summary>
    private void FlushRuns(ThreadCache tc)
    {
        for (int length = 1; length <= RunStack.MaxPages; length++)
        {
            RunStack* stack = tc.Runs + (length - 1);
            if (stack->Count != 0) FlushRunsToCpu(stack, (nuint)length, stack->Count);
        }
    }

    // ---- the CPU's page-run cache ----

    /// <summary>A run of <paramref name="count"/> pages from the CPU's cache, marked allocated; false on a miss.</summary>
    private bool TryTakeCachedRun(nuint count, nuint alignment, out nuint address)
    {
        address = 0;
        // A bad alignment goes on to the buddy, which refuses it.
        if (count > PageRunCache.MaxPages || (alignment & (alignment - 1)) != 0 || alignment == 0) return false;
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        nuint run = cache.Pages.TakeAligned((int)count, alignment);   // cached runs are aligned to their block: most fit
        cache.Lock.Exit();
        if (run == 0) return false;
        RunHead(run)->Flags = PageFlags.Allocated;
        address = run;
        return true;
    }

    /// <summary>Keeps a live run of at most <see cref="PageRunCache.MaxPages"/> pages in the CPU's cache, and gives the
    /// run it displaced, if any, to the buddy. The caller has checked that the run is live with this length.</summary>
    private void CacheRun(PageRecord* head, nuint address, nuint count)
    {
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        head->Flags = RunStates.Cached;
        nuint evicted = cache.Pages.Put(address, (int)count);
        cache.Lock.Exit();
        if (evicted != 0) FreeDisplacedRun(evicted, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeDisplacedRun(nuint run, nuint count) => _pages.Free(run, count);

    /// <summary>Frees a chain of runs to the buddy in one locked step.</summary>
    private void FreeRuns(RunChain chain) => _pages.Free(chain);

    /// <summary>The head record of the live run starting at <paramref name="address"/>, or null: the first region
    /// straight from the fields cached at Init, other regions through the section table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PageRecord* RunHead(nuint address)
    {
        nuint offset = address - _firstPages;
        return offset < _firstPagesBytes ? FirstRegionRunHead(offset) : _pages.RunHead(address);
    }

    /// <summary><see cref="RunHead"/> for an address <paramref name="offset"/> bytes into the first region's pages (the
    /// caller checked the range): its record, when the address starts a page that heads a run; null otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PageRecord* FirstRegionRunHead(nuint offset)
    {
        if ((offset & ((nuint)_pageSize - 1)) != 0) return null;
        PageRecord* r = _firstRecords + (offset >> _pageShift);
        return r->IsRunHead ? r : null;
    }

    // ---- slab pages ----

    /// <summary>A new slab for class <paramref name="cls"/> (its pages taken with no CPU lock held), added to the CPU's
    /// slab allocator, and its first object.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateWithNewSlab(CpuCache cache, int cls, out void* pointer)
    {
        int slabBytes = _table.SlabBytes[cls];
        if (!TryTakePages((nuint)(slabBytes >> _pageShift), (nuint)slabBytes, lowMemory: false, out nuint slab))
        {
            pointer = null;
            return false;
        }
        // The objects carry their free marks and the records their class before the head says "slab": a free that
        // finds a slab record may rely on both.
        SlabHeader.MarkAllFree(slab, _table.Classes[cls], _cookie);
        PageRecord.MarkSlab(_pages.RunHead(slab), (nuint)(slabBytes >> _pageShift), cls);
        cache.Lock.Enter();
        cache.Slabs.AddSlabUnchecked(cls, slab);
        nuint address = cache.Slabs.TryAllocate(cls);
        cache.Lock.Exit();
        *(nuint*)address = 0;      // the pages may hold an old magazine mark at this very address
        pointer = (void*)address;
        return true;
    }

    /// <summary>Gives a CPU's emptied slabs to its page-run cache, and the runs they displace from it (and slabs too large
    /// for it) to the buddy.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FlushEmptySlabs(CpuCache cache, bool visit)
    {
        var toBuddy = new RunChain();
        if (visit) cache.EnterAsVisitor();
        else cache.Lock.Enter();
        SlabHeader* emptied = cache.Slabs.TakeEmptySlabs();
        while (emptied != null)
        {
            SlabHeader* next = emptied->Next;
            nuint pages = emptied->SlabBytes >> _pageShift;
            emptied->Magic = 0;
            PageRecord.ClearSlabBody(RunHead((nuint)emptied), pages);   // its pages no longer read as a slab's
            if (pages <= PageRunCache.MaxPages)
            {
                RunHead((nuint)emptied)->Flags = RunStates.Cached;
                nuint evicted = cache.Pages.Put((nuint)emptied, (int)pages);
                if (evicted != 0) toBuddy.Add(evicted, pages);
            }
            else toBuddy.Add((nuint)emptied, pages);
            emptied = next;
        }
        if (visit) cache.ExitAsVisitor();
        else cache.Lock.Exit();
        FreeRuns(toBuddy);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nuint PagesFor(nuint size) => (size + (nuint)_pageSize - 1) >> _pageShift;

    /// <summary>Pages of a block that takes pages: at least one, even for a zero-size request with a large alignment.</summary>
    private nuint LargePages(nuint size) => size == 0 ? 1 : PagesFor(size);
}
