using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

// Frees: finding an object's slab from its address (the sized form by masking, the unsized form through the first
// section's page records), checking the object without reading its slab's header, and pushing it on the caller's
// magazine; then, out of line, everything else: other regions, page runs (to .Pages.cs), marked objects (the
// double-free check), full magazines (traded with the depots or flushed to the slabs) and bad pointers.
public sealed unsafe partial class GlobalAllocator
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer) => FreeCore(pointer, CallerBlock);

    /// <summary><see cref="Free(void*)"/> with the caller's thread cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreeCore(void* pointer, ThreadCacheBlock* tc)
    {
        // The fast path: an object in a slab of the first region, found from fields cached at Init.
        nuint address = (nuint)pointer;
        nuint offset = address - _firstPages;
        if (offset < _firstPagesBytes)
        {
            nuint slab = SlabInFirstSection(address, out int cls);
            if (slab != 0)
            {
                FreeObject(slab, address, cls, tc);
                return;
            }
        }
        FreeAnywhere(pointer, tc);
    }

    /// <summary>The slab holding <paramref name="address"/> in the first section and its class (from the slab's page
    /// record), or 0: slabs are 1 to 8 pages aligned to their size, so the slab's head record is found by clearing the
    /// low bits of the address, at most four times.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nuint SlabInFirstSection(nuint address, out int cls)
    {
        cls = 0;
        for (int k = 0; (1 << k) <= SizeClassTable.MaxSlabPages; k++)
        {
            nuint start = address & ~(((nuint)_pageSize << k) - 1);
            if (start < _firstPages) return 0;
            ref PageRecord r = ref _firstRecords[(start - _firstPages) >> _pageShift];
            if (r.IsRunHead)
            {
                cls = r.SlabClass;
                return r.Flags == PageFlags.Slab && ((address - start) >> _pageShift) < r.RunLength ? start : 0;
            }
        }
        return 0;
    }

    /// <summary>Every free the fast path does not take: null, other sections, page runs, bad pointers, a disposed heap.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeAnywhere(void* pointer, ThreadCacheBlock* tc)
    {
        if (pointer == null) return;
        if (!_ready) ThrowNotReady();
        nuint address = (nuint)pointer;
        if (!_pages.TryFindRun(address, out nuint start, out nuint pages, out PageFlags flags)) ThrowHelper.NotLive(address, _pages.IsInRegion(address));
        if (flags == PageFlags.Slab) FreeObject(start, address, ((SlabHeader*)start)->ClassIndex, tc);
        else if (start != address) ThrowHelper.InsideRun(address, start);
        else FreePageRun(address, pages, tc);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer, nuint size, nuint alignment) => FreeCore(pointer, size, alignment, CallerBlock);

    /// <summary><see cref="Free(void*, nuint, nuint)"/> with the caller's thread cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreeCore(void* pointer, nuint size, nuint alignment, ThreadCacheBlock* tc)
    {
        // The fast path: a default-aligned small object whose slab, found by masking, is in the first region.
        nuint address = (nuint)pointer;
        // Default alignments map a size straight to its class: 16 from 9 bytes on (every class above 8 is a multiple
        // of 16), 8 or less at any size.
        if (size <= SizeClass.MaxObjectSize && (alignment == 16 ? size > 8 : alignment - 1 < 8 && (alignment & (alignment - 1)) == 0))
        {
            int cls = SizeClassTable.DefaultClassOf(size);
            SlabClassInfo* info = _classInfo + cls;
            nuint slab = address & info->SlabMask;
            nuint offset = slab - _firstPages;
            if (offset < _firstPagesBytes)
            {
                ref PageRecord r = ref _firstRecords[offset >> _pageShift];
                if (r.IsSlabHeadOf(cls))
                {
                    FreeObject(slab, address, cls, info, tc);
                    return;
                }
            }
        }
        FreeSized(pointer, size, alignment, tc);
    }

    /// <summary>Every sized free the fast path does not take: other regions and alignments, pages, bad input.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeSized(void* pointer, nuint size, nuint alignment, ThreadCacheBlock* tc)
    {
        if (!_ready) ThrowNotReady();
        if (!AddressMath.IsPowerOfTwo(alignment)) ThrowHelper.InvalidAlignment(alignment);
        nuint address = (nuint)pointer;
        int cls = _table.Find(size, alignment);
        if (cls < 0)
        {
            FreePageRun(address, LargePages(size), tc);
            return;
        }
        nuint slab = address & _classInfo[cls].SlabMask;
        if (!IsSlabStart(slab) || ((SlabHeader*)slab)->ClassIndex != cls) ThrowHelper.WrongClass(address, size, alignment, _pages.IsInRegion(address));
        FreeObject(slab, address, cls, tc);
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

    /// <summary>Frees an object of class <paramref name="cls"/> in the live slab at <paramref name="slab"/> (the caller read
    /// both from the slab's page record). The common case reads no slab header: the object's position is checked
    /// against the class's layout, and an object without its free mark is live (see <see cref="SlabHeader"/>); only a
    /// marked object, or one of 8 bytes, is checked against the bitmaps and the magazines.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FreeObject(nuint slab, nuint address, int cls, ThreadCacheBlock* tc) => FreeObject(slab, address, cls, _classInfo + cls, tc);

    /// <summary><see cref="FreeObject(nuint, nuint, int, ThreadCacheBlock*)"/> with the class's entry in the table at hand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FreeObject(nuint slab, nuint address, int cls, SlabClassInfo* info, ThreadCacheBlock* tc)
    {
        // The common case in one test, so the inlined path has a single call out: an object that starts a slot,
        // carries no free mark (its low half: reading 4 bytes lets the CPU forward them from the program's own last
        // 4-byte write, where an 8-byte read would stall) and is not of the 8-byte class, with room in the magazine.
        if (info->IndexOf(address - slab - info->FirstOffset) < info->Count && *(uint*)address != (uint)(address ^ _cookie)
            && cls != 0 && TryPushFreed(tc, cls, address))
            return;
        FreeObjectChecked(slab, address, cls, info, tc);
    }

    /// <summary>Pushes a freed object on the caller's loaded magazine and marks it; false when there is no room (or no
    /// magazine of this allocator).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryPushFreed(ThreadCacheBlock* tc, int cls, nuint address)
    {
        return tc != null && tc->Owner == Token && Magazine.TryPush(tc->LoadedOf(cls), address, _cookie);   // a second free looks for the mark
    }

    /// <summary>Every free the inlined test does not take, checked in full: a bad position throws, a marked or 8-byte
    /// object is checked against the bitmaps and the magazines, and a full or missing magazine goes the slow way.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeObjectChecked(nuint slab, nuint address, int cls, SlabClassInfo* info, ThreadCacheBlock* tc)
    {
        if (info->IndexOf(address - slab - info->FirstOffset) >= info->Count) ThrowHelper.FreeError(FreeError.NotAnObject, address);
        if (*(uint*)address == (uint)(address ^ _cookie) || cls == 0) CheckNotFree((SlabHeader*)slab, address, tc);
        // Eight objects of 8 bytes share a cache line: one another CPU's slab handed out (another thread's, most
        // likely) goes back to that slab rather than into this thread's magazine, or this thread would allocate it
        // again at once and write the line the other thread's objects sit on (passive false sharing).
        if (cls == 0 && TryFreeRemote((SlabHeader*)slab, address, CurrentCpu())) return;
        if (!TryPushFreed(tc, cls, address)) FreeSmallSlow((SlabHeader*)slab, address, tc);
    }

    /// <summary>A free of a marked object (or of an 8-byte one): throws if it is free in its slab, waiting on the remote
    /// list or in a magazine; otherwise the mark was the program's own data and the free goes on.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckNotFree(SlabHeader* s, nuint address, ThreadCacheBlock* tc)
    {
        int index = SlabHeader.IndexOf(s, address);
        if (index < 0) ThrowHelper.FreeError(FreeError.NotAnObject, address);
        if (SlabHeader.IsFreeOrPending(s, index)) ThrowHelper.DoubleFree(address);
        if (*(nuint*)address == (address ^ _cookie)) ThrowIfCached(address, s->ClassIndex, tc);
    }

    /// <summary>The object at <paramref name="address"/> carries the magazine mark: if it really sits in a magazine
    /// (the caller's, this thread's, a depot's or an orphan's), this is a second free and it throws; otherwise the
    /// mark was a coincidence and the free goes on.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIfCached(nuint address, int cls, ThreadCacheBlock* caller)
    {
        ThreadCache? own = caller != null && caller->Owner == Token ? caller->ManagedCache : null;
        bool cached = own is not null && own.HoldsLocked(cls, address);
        cached = cached || _sharedDepot.Contains(cls, address);
        foreach (CpuCache cache in _cpus)
        {
            if (cached) break;
            cache.Lock.Enter();
            for (Magazine* m = cache.Depot[cls].Full; m != null && !cached; m = m->Next) cached = Magazine.Contains(m, address);
            cache.Lock.Exit();
        }
        // Every thread's magazines, each read under its exchange lock (so none is traded away or destroyed meanwhile),
        // and the orphans'. A free racing with the owner's own exchange of that magazine may still go unseen.
        if (!cached)
            lock (_cachesLock)
            {
                foreach (ThreadCache tc in _threadCaches)
                    if (tc != own && (cached = tc.HoldsLocked(cls, address))) break;   // the caller's was read first
                foreach (ThreadCache orphan in _orphans)
                    cached = cached || orphan.Holds(cls, address);
            }
        if (cached) ThrowHelper.DoubleFree(address);
    }

    /// <summary>A checked free whose loaded magazine is full (or missing): swaps in the previous magazine, trading it to a
    /// depot first when it is full too; with thread caches off, straight to the slabs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeSmallSlow(SlabHeader* s, nuint address, ThreadCacheBlock* caller)
    {
        if (!_useThreadCaches)
        {
            FreeToSlabs(s, address);
            return;
        }
        ThreadCache tc = CacheFor(caller);
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
        Magazine.TryPush(loaded, address, _cookie);     // the loaded magazine has room now
    }

    /// <summary>Parks a full magazine in the CPU's depot, or when that is full in the shared depot, and answers an empty
    /// one (from the depot, or new); when both are full, flushes its objects to the slabs and answers it emptied.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Magazine* TradeFullMagazine(Magazine* full, int cls)
    {
        CpuCache cache = CurrentCpu();
        Magazine* empty = null;
        int capacity = full->Capacity;                   // once shelved, another thread or a purge pass may free it
        cache.Lock.Enter();
        ref MagazineDepot depot = ref cache.Depot[cls];
        bool kept = depot.TryPutFull(full);
        if (kept) empty = depot.TakeEmpty();
        cache.Lock.Exit();
        if (!kept) kept = _sharedDepot.TryPutFull(cls, full, cache.Slabs.Cpu, out empty);
        PurgeIfDue();                                    // a heap that only trades magazines still gets its passes
        if (kept) return empty != null ? empty : Magazine.Create(capacity);

        cache.Lock.Enter();
        FlushToSlabs(cache, full, cls);
        ExitCpu(cache);
        return full;
    }

    /// <summary>Frees a small object into its slab: locally under the CPU's lock, or remotely to its owner.</summary>
    private void FreeToSlabs(SlabHeader* s, nuint address)
    {
        CpuCache cache = CurrentCpu();
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
