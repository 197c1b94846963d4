using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

// Frees: finding an object's slab from its address (the sized form by masking, the unsized form from its own page's
// record in the first section), checking the object without reading its slab's header, and pushing it on the caller's
// magazine, all inline and marked in flight on the caller's block (see ThreadCacheBlock). Everything else enters a call
// of its own out of line: other regions, page runs (to .Pages.cs), marked objects (the double-free check), full
// magazines (traded with the depots or flushed to the slabs) and bad pointers.
public sealed unsafe partial class GlobalAllocator
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer) => FreeCore(pointer, CallerBlock);

    /// <summary><see cref="Free(void*)"/> with the caller's thread cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreeCore(void* pointer, ThreadCacheBlock* tc)
    {
        if (!TryFreeUnsizedFast((nuint)pointer, tc)) FreeSlow(pointer, tc);
    }

    /// <summary>The unsized fast path, shared by <see cref="Free(void*)"/> and <see cref="TryFree"/>: an unmarked object
    /// in a slab of the first region (found from fields cached at Init) onto the thread's magazine. One page record is
    /// read, the address's own: every page of a live slab names the slab's class (see <see cref="PageRecord.IsSlabPage"/>),
    /// and the slab is aligned to its size, so the class's mask finds its start. False, with nothing done, for anything
    /// else: the caller takes its slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryFreeUnsizedFast(nuint address, ThreadCacheBlock* tc)
    {
        if (tc == null) return false;
        if (ThreadCacheBlock.Enter(tc, Token))
        {
            nuint offset = address - _firstPages;
            if (offset < _firstPagesBytes)
            {
                uint word = _firstRecords[offset >> _pageShift].Word;
                if (PageRecord.IsSlabPageWord(word))
                {
                    int cls = (int)(word >> 24);
                    SlabClassInfo* info = _classInfo + cls;
                    if (TryFreeFast(address & info->SlabMask, address, cls, info, tc))
                    {
                        ThreadCacheBlock.Exit(tc);
                        return true;
                    }
                }
            }
        }
        ThreadCacheBlock.Exit(tc);
        return false;
    }

    /// <summary>The slab holding <paramref name="address"/> in the first section and its class, from the address's own
    /// page record, or 0 (the caller checked the range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nuint SlabInFirstSection(nuint address, out int cls)
    {
        uint word = _firstRecords[(address - _firstPages) >> _pageShift].Word;     // read once: flags, kind and class agree
        cls = (int)(word >> 24);
        return PageRecord.IsSlabPageWord(word) ? address & _classInfo[cls].SlabMask : 0;
    }

    /// <summary>The common free in one test, so the inlined path has a single call out: an object that starts a slot and
    /// carries no free mark, pushed on the armed caller's magazine when it has room (an 8-byte object after its slab's
    /// bitmaps, out of line: <see cref="TryFreeTinyFast"/>). The
    /// mark's low half only: reading 4 bytes lets the CPU forward them from the program's own last 4-byte write, where an
    /// 8-byte read would stall. An object without its mark is live (see <see cref="SlabHeader"/>), so this reads no
    /// slab header.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryFreeFast(nuint slab, nuint address, int cls, SlabClassInfo* info, ThreadCacheBlock* tc) =>
        info->IndexOf(address - slab - info->FirstOffset) < info->Count && !IsMarked(address)
        && (cls != 0 ? Magazine.TryPush(tc->LoadedOf(cls), address) : TryFreeTinyFast(slab, address, tc));   // the free mark: a second free looks for it

    /// <summary>The fast free of an unmarked 8-byte object, out of line: its only word holds a remote link while it waits
    /// on its slab's remote list, so no mark tells that it is free there, and its slab's bitmaps are read instead (the
    /// check <see cref="CheckNotFree"/> makes). An object of another CPU's slab, or one the bitmaps call free or pending,
    /// answers false, with nothing done, for the checked path (a remote free, or the error).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryFreeTinyFast(nuint slab, nuint address, ThreadCacheBlock* tc)
    {
        var s = (SlabHeader*)slab;
        return s->OwnerCpu == HomeCpu().Slabs.Cpu && !SlabHeader.IsFreeOrPending(s, SlabHeader.KnownIndexOf(s, address))
            && Magazine.TryPush(tc->LoadedOf(0), address);
    }

    /// <summary>True when the object at <paramref name="address"/> carries a free mark: in its slab, on a remote list or in a
    /// magazine. Only the low 16 bits, which every mark shares, are compared (and only 2 bytes read, which the CPU can
    /// forward from the program's own last write of the word); a live object whose data happens to match costs a check
    /// against the slab and the magazines, nothing else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsMarked(nuint address) => *(ushort*)address == (ushort)(address ^ _cookie);

    /// <summary>Every unsized free the fast path does not take: null, a page run the caller's stack can take, and then,
    /// in a call of its own, everything else.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeSlow(void* pointer, ThreadCacheBlock* caller)
    {
        if (pointer == null || TryFreeRunQuick((nuint)pointer, 0, caller)) return;
        ThreadCache? tc = EnterCall(caller);
        try { FreeLocked(pointer, tc is null ? null : tc.Block); }
        finally { ExitCall(tc); }
    }

    /// <summary>An unsized free inside a call on <paramref name="own"/> (the thread's armed cache, or null with thread
    /// caches off): any block of any region, checked in full.</summary>
    private void FreeLocked(void* pointer, ThreadCacheBlock* own)
    {
        if (!_ready) ThrowNotReady();
        nuint address = (nuint)pointer;
        int cls = 0;
        nuint slab = address - _firstPages < _firstPagesBytes ? SlabInFirstSection(address, out cls) : 0;
        if (slab != 0)
        {
            FreeObjectChecked(slab, address, cls, _classInfo + cls, own);
            return;
        }
        if (!_pages.TryFindRun(address, out nuint start, out nuint pages, out PageFlags flags)) ThrowHelper.NotLive(address, _pages.IsInRegion(address));
        if (flags == PageFlags.Slab)
        {
            int c = ((SlabHeader*)start)->ClassIndex;
            FreeObjectChecked(start, address, c, _classInfo + c, own);
        }
        else if (flags == RunStates.Metadata) ThrowHelper.NotAllocated(address, "lies in the allocator's own metadata, not in a block it handed out");
        else if (start != address) ThrowHelper.InsideRun(address, start);
        else FreePageRun(address, pages, own, PageFlags.Allocated);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer, nuint size, nuint alignment) => FreeCore(pointer, size, alignment, CallerBlock);

    /// <summary><see cref="Free(void*, nuint, nuint)"/> with the caller's thread cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreeCore(void* pointer, nuint size, nuint alignment, ThreadCacheBlock* tc)
    {
        // The fast path: a default-aligned object whose slab, found by masking, is in the first region.
        // Default alignments map a size straight to its class: 16 from 9 bytes on (every class above 8 is a multiple
        // of 16), 8 or less at any size. Whole pages above 2048 bytes are page runs and go straight on.
        nuint address = (nuint)pointer;
        if (tc != null)
        {
            if (ThreadCacheBlock.Enter(tc, Token) && HasDefaultClass(size)
                && (alignment == 16 ? size > 8 : alignment - 1 < 8 && (alignment & (alignment - 1)) == 0))
            {
                int cls = SizeClassTable.DefaultClassOf(size);
                SlabClassInfo* info = _classInfo + cls;
                nuint slab = address & info->SlabMask;
                nuint offset = slab - _firstPages;
                if (offset < _firstPagesBytes && _firstRecords[offset >> _pageShift].IsSlabHeadOf(cls) && TryFreeFast(slab, address, cls, info, tc))
                {
                    ThreadCacheBlock.Exit(tc);
                    return;
                }
            }
            ThreadCacheBlock.Exit(tc);
        }
        FreeSizedSlow(pointer, size, alignment, tc);
    }

    /// <summary>Every sized free the fast path does not take: null, a page run the caller's stack can take, and then, in
    /// a call of its own, other regions and alignments, full magazines, marked objects, pages and bad input.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeSizedSlow(void* pointer, nuint size, nuint alignment, ThreadCacheBlock* caller)
    {
        if (pointer == null) return;                    // like free(NULL), whatever the size
        if (alignment <= (nuint)_pageSize && AddressMath.IsPowerOfTwo(alignment) && _table.Find(size, alignment) < 0
            && TryFreeRunQuick((nuint)pointer, LargePages(size), caller)) return;      // a block of pages: no class serves it
        ThreadCache? tc = EnterCall(caller);
        try { FreeSizedLocked(pointer, size, alignment, tc is null ? null : tc.Block); }
        finally { ExitCall(tc); }
    }

    private void FreeSizedLocked(void* pointer, nuint size, nuint alignment, ThreadCacheBlock* own)
    {
        if (!_ready) ThrowNotReady();
        if (!AddressMath.IsPowerOfTwo(alignment)) ThrowHelper.InvalidAlignment(alignment);
        nuint address = (nuint)pointer;
        int cls = _table.Find(size, alignment);
        if (cls < 0)
        {
            FreePageRun(address, LargePages(size), own, PageFlags.Allocated);
            return;
        }
        nuint slab = address & _classInfo[cls].SlabMask;
        if (!IsSlabStart(slab) || ((SlabHeader*)slab)->ClassIndex != cls) ThrowHelper.WrongClass(address, size, alignment, _pages.IsInRegion(address));
        FreeObjectChecked(slab, address, cls, _classInfo + cls, own);
    }

    /// <summary>True when <paramref name="address"/> starts a live slab: one record read in the first section, a section lookup elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsSlabStart(nuint address)
    {
        nuint offset = address - _firstPages;
        if (offset >= _firstPagesBytes) return _ready && _pages.IsSlabRunAt(address);
        if ((offset & (nuint)(_pageSize - 1)) != 0) return false;
        ref PageRecord r = ref _firstRecords[offset >> _pageShift];
        return r.IsRunHead && r.Flags == PageFlags.Slab;
    }

    /// <summary>A free checked in full, inside a call on <paramref name="own"/>: a bad position throws, a marked or 8-byte
    /// object is checked against the magazines and the bitmaps, and the object goes on a magazine with a
    /// compare-and-swap on the word it was judged by, so a free or a flush of the same object on another thread in the
    /// meantime makes it judge again instead of keeping the object twice (see <see cref="Magazine"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeObjectChecked(nuint slab, nuint address, int cls, SlabClassInfo* info, ThreadCacheBlock* own)
    {
        if (info->IndexOf(address - slab - info->FirstOffset) >= info->Count) ThrowHelper.FreeError(FreeError.NotAnObject, address);
        var s = (SlabHeader*)slab;
        bool flushesWaitedOut = false;
        while (true)
        {
            nuint judged = Volatile.Read(ref *(nuint*)address);
            if (judged == Magazine.TransitMark(address, _cookie) && !flushesWaitedOut)
            {
                // A flush may be putting it back in its slab: every flush runs under a CPU's lock, so once each CPU's lock
                // was free once, any flush under way has ended and the object is judged again. A word that still reads
                // as the transit mark then is the program's own data (it matches by chance), and the checks go on.
                WaitOutFlushes();
                flushesWaitedOut = true;
                continue;
            }
            bool marked = (ushort)judged == (ushort)(address ^ _cookie);
            if (marked || cls == 0) CheckNotFree(s, address, own, marked);
            // Eight objects of 8 bytes share a cache line: one another CPU's slab handed out (another thread's, most
            // likely) goes back to that slab rather than into this thread's magazine, or this thread would allocate it
            // again at once and write the line the other thread's objects sit on (passive false sharing).
            if (cls == 0 && TryFreeRemote(s, address, HomeCpu())) return;
            int pushed = own == null ? 0 : Magazine.TryPushIfUnchanged(own->LoadedOf(cls), address, judged);
            if (pushed == 0) pushed = FreeSmallSlow(s, address, own, judged);
            if (pushed > 0) return;
        }
    }

    /// <summary>Takes and lets go of every CPU's lock in turn: a flush to the slabs that was under way when this began has
    /// ended when it returns (the caller holds no lock).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitOutFlushes()
    {
        foreach (CpuCache cache in _cpus)
        {
            cache.Lock.Enter();
            cache.Lock.Exit();
        }
    }

    /// <summary>A free of a marked object (or of an 8-byte one): throws if it sits in a magazine, is free in its slab or
    /// waits on the remote list; otherwise the mark was the program's own data and the free goes on. The magazines are
    /// read first, each under its owner's exchange lock: a flush that moved the object from one to its slab meanwhile has
    /// set the bitmaps before that lock was let go.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckNotFree(SlabHeader* s, nuint address, ThreadCacheBlock* tc, bool marked)
    {
        int index = SlabHeader.IndexOf(s, address);
        if (index < 0) ThrowHelper.FreeError(FreeError.NotAnObject, address);
        if (marked) ThrowIfCached(address, s->ClassIndex, tc);
        if (SlabHeader.IsFreeOrPending(s, index)) ThrowHelper.DoubleFree(address);
    }

    /// <summary>The object at <paramref name="address"/> carries the magazine mark: if it really sits in a magazine
    /// (the caller's, this thread's, a depot's or an orphan's), this is a second free and it throws; otherwise the
    /// mark was a coincidence and the free goes on.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIfCached(nuint address, int cls, ThreadCacheBlock* caller)
    {
        nuint mark = Volatile.Read(ref *(nuint*)address);
        ThreadCache? own = caller != null && caller->Owner == Token ? caller->ManagedCache : null;
        bool cached = own is not null && own.HoldsLocked(cls, address, mark);
        cached = cached || _sharedDepot.Contains(cls, address, mark);
        foreach (CpuCache cache in _cpus)
        {
            if (cached) break;
            cache.Lock.Enter();
            for (Magazine* m = cache.Depot[cls].Full; m != null && !cached; m = m->Next) cached = Magazine.Contains(m, address, mark);
            cache.Lock.Exit();
        }
        // Every thread's magazines, each read under its exchange lock (so none is traded away or destroyed meanwhile),
        // and the orphans'. A free racing with the owner's own exchange of that magazine may still go unseen.
        if (!cached)
            lock (_cachesLock)
            {
                foreach (ThreadCache tc in _threadCaches)
                    if (tc != own && (cached = tc.HoldsLocked(cls, address, mark))) break;   // the caller's was read first
                foreach (ThreadCache orphan in _orphans)
                    cached = cached || orphan.Holds(cls, address, mark);
            }
        if (cached) ThrowHelper.DoubleFree(address);
    }

    /// <summary>A checked free whose loaded magazine is full (or missing): swaps in the previous magazine, trading it to a
    /// depot first when it is full too, then pushes as <see cref="Magazine.TryPushIfUnchanged"/> does (1 pushed, -1 the
    /// object's word changed since <paramref name="judged"/>); with thread caches off, straight to the slabs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int FreeSmallSlow(SlabHeader* s, nuint address, ThreadCacheBlock* own, nuint judged)
    {
        if (own == null)
        {
            FreeToSlabs(s, address);
            return 1;
        }
        ThreadCache tc = own->ManagedCache;
        PurgeThreadRunsIfDue(tc.Block);
        int cls = s->ClassIndex;
        Magazine* loaded = tc.Block->LoadedOf(cls);
        if (loaded->Count == loaded->Capacity)
        {
            tc.ExchangeLock.Enter();
            try
            {
                Magazine* previous = tc.Previous[cls];
                if (previous->Count == previous->Capacity)
                {
                    // Both full: the previous one goes to a depot for an empty one, or its objects back to the slabs.
                    previous = TradeFullMagazine(previous, cls);
                }
                loaded = tc.Load(cls, previous, loaded);
            }
            finally { tc.ExchangeLock.Exit(); }
        }
        return Magazine.TryPushIfUnchanged(loaded, address, judged);   // the loaded magazine has room now
    }

    /// <summary>Parks a full magazine in the CPU's depot, or when that is full in the shared depot, and answers an empty
    /// one (from the depot, or new); when both are full, flushes its objects to the slabs and answers it emptied.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Magazine* TradeFullMagazine(Magazine* full, int cls)
    {
        int capacity = full->Capacity;                   // once shelved, another thread or a purge pass may free it
        CpuCache cache = EnterHomeCpu();
        Magazine* empty = null;
        ref MagazineDepot depot = ref cache.Depot[cls];
        bool kept = cache.TryPutFull(cls, full);
        if (kept) empty = depot.TakeEmpty();
        cache.Lock.Exit();
        if (!kept) kept = _sharedDepot.TryPutFull(cls, full, cache.Slabs.Cpu, out empty);
        if (kept) return empty != null ? empty : Magazine.Create(_arena, capacity, _cookie);

        ulong owners = 0;
        cache.Lock.Enter();
        FlushToSlabs(cache, full, cls, ref owners);
        ExitCpu(cache);
        DrainOwners(owners);
        return full;
    }

    /// <summary>Frees a small object into its slab: locally under the CPU's lock, or remotely to its owner.</summary>
    private void FreeToSlabs(SlabHeader* s, nuint address)
    {
        CpuCache cache = HomeCpu();
        if (TryFreeRemote(s, address, cache)) return;
        cache.Lock.Enter();
        FreeError error = cache.Slabs.TryFreeLocal(s, address);
        ExitCpu(cache);
        if (error != FreeError.None) ThrowHelper.FreeError(error, address);
    }

    /// <summary>Pushes the object on its slab's remote list when the slab belongs to a CPU other than
    /// <paramref name="cache"/>'s; false (nothing done) when it is that CPU's own.</summary>
    private bool TryFreeRemote(SlabHeader* s, nuint address, CpuCache cache)
    {
        if (s->OwnerCpu == cache.Slabs.Cpu) return false;
        RemoteFree.Push(s, address, _cookie);
        return true;
    }
}
