using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

// Allocation: the inline fast path pops the caller's magazine for the class, marked in flight on the caller's block
// (see ThreadCacheBlock); everything else enters a call of its own (EnterCall) out of line: magazine exchanges with the
// depots, refills from the CPU's slabs, other alignments, and requests that take pages (.Pages.cs). Reallocate and
// UsableSize read a live block through the same check.
public sealed unsafe partial class GlobalAllocator
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size) => AllocateCore(size, CallerBlock);

    /// <summary><see cref="Allocate(nuint)"/> with the caller's thread cache: this thread's, or a <see cref="ThreadHeap"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void* AllocateCore(nuint size, ThreadCacheBlock* tc)
    {
        if (TryAllocateFast(size, tc, out nuint address)) return (void*)address;
        return TakesPages(size) ? AllocatePageRun(size, tc) : AllocateSlow(size, tc);
    }

    /// <summary>True when a default-aligned request of <paramref name="size"/> bytes takes a page run: larger than every
    /// class, or a whole number of pages above 2048 bytes (as <see cref="SizeClassTable.IsWholePages"/> says, from this
    /// allocator's own field).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TakesPages(nuint size) => !HasDefaultClass(size);

    /// <summary>True when a default-aligned request of <paramref name="size"/> bytes has a class: every size up to 2048
    /// bytes passes the first compare; above it, up to <see cref="SizeClass.MaxObjectSize"/> and not a whole number of
    /// pages.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HasDefaultClass(nuint size) =>
        size <= SizeClassTable.MaxSmallObjectSize || (size <= SizeClass.MaxObjectSize && (size & (nuint)(_pageSize - 1)) != 0);

    /// <summary>The default-aligned fast path, shared by <see cref="Allocate(nuint)"/> and
    /// <see cref="TryAllocate(nuint, out void*)"/>: an object popped from the thread's magazine for its class. False,
    /// with nothing done, for anything else: the caller takes its slow path. Sizes up to 2048 bytes pass one compare; the
    /// larger classes skip whole numbers of pages, which take page runs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryAllocateFast(nuint size, ThreadCacheBlock* tc, out nuint address)
    {
        if (HasDefaultClass(size) && tc != null)
        {
            if (ThreadCacheBlock.Enter(tc, Token) && Magazine.TryPop(tc->LoadedOf(SizeClassTable.DefaultClassOf(size)), out address))
            {
                ThreadCacheBlock.Exit(tc);
                return true;
            }
            ThreadCacheBlock.Exit(tc);
        }
        address = 0;
        return false;
    }

    /// <summary>Every default-aligned request the fast path does not take, in a call of its own.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocateSlow(nuint size, ThreadCacheBlock* caller)
    {
        ThreadCache? tc = EnterCall(caller);
        try
        {
            ThreadCacheBlock* own = tc is null ? null : tc.Block;
            void* pointer;
            if (TakesPages(size))
            {
                if (!TryAllocateLarge(size, 16, own, out pointer)) ThrowHelper.NoMemory(size, 16);
                return pointer;
            }
            nuint alignment = INativeAllocator.DefaultAlignment(size);
            if (!TryAllocateLocked(size, alignment, own, out pointer)) ThrowHelper.NoMemory(size, alignment);
            return pointer;
        }
        finally { ExitCall(tc); }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size, nuint alignment)
    {
        if (!TryAllocate(size, alignment, out void* pointer)) ThrowHelper.NoMemory(size, alignment);
        return pointer;
    }

    /// <inheritdoc />
    public bool TryAllocate(nuint size, nuint alignment, out void* pointer) => TryAllocateCore(size, alignment, CallerBlock, out pointer);

    internal bool TryAllocateCore(nuint size, nuint alignment, ThreadCacheBlock* tc, out void* pointer)
    {
        // The fast path: a small object of a valid alignment popped from the thread's magazine for its class.
        if (tc != null)
        {
            int cls;
            if (ThreadCacheBlock.Enter(tc, Token) && AddressMath.IsPowerOfTwo(alignment) && (cls = _table.Find(size, alignment)) >= 0
                && Magazine.TryPop(tc->LoadedOf(cls), out nuint address))
            {
                ThreadCacheBlock.Exit(tc);
                pointer = (void*)address;
                return true;
            }
            ThreadCacheBlock.Exit(tc);
        }
        return TryAllocateSlow(size, alignment, tc, out pointer);
    }

    /// <summary>Every request the fast path does not take, in a call of its own.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateSlow(nuint size, nuint alignment, ThreadCacheBlock* caller, out void* pointer)
    {
        ThreadCache? tc = EnterCall(caller);
        try { return TryAllocateLocked(size, alignment, tc is null ? null : tc.Block, out pointer); }
        finally { ExitCall(tc); }
    }

    /// <summary>Any request, inside a call on <paramref name="own"/> (the thread's armed cache, or null with thread caches off).</summary>
    private bool TryAllocateLocked(nuint size, nuint alignment, ThreadCacheBlock* own, out void* pointer)
    {
        if (!_ready) ThrowNotReady();
        if (!AddressMath.IsPowerOfTwo(alignment)) ThrowHelper.InvalidAlignment(alignment);
        int cls = _table.Find(size, alignment);
        if (cls < 0) return TryAllocateLarge(size, alignment, own, out pointer);
        if (own != null && Magazine.TryPop(own->LoadedOf(cls), out nuint address))
        {
            pointer = (void*)address;
            return true;
        }
        return AllocateSmallSlow(cls, own, out pointer);
    }

    /// <summary>A small object whose loaded magazine was empty (or missing): the previous magazine, a full one from the
    /// shared or the CPU's depot, or objects from the CPU's slabs, in that order; a new slab when all are dry.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool AllocateSmallSlow(int cls, ThreadCacheBlock* own, out void* pointer)
    {
        if (own == null) return TryAllocateFromSlabs(cls, out pointer);
        ThreadCache tc = own->ManagedCache;
        if (_orphanCount != 0) AdoptOrphans();
        PurgeThreadRunsIfDue(tc.Block);

        Magazine* loaded;
        CpuCache? dry = null;                          // set when the CPU's slabs had nothing either
        tc.ExchangeLock.Enter();     // a double-free check on another thread may be reading these magazines
        try
        {
            loaded = tc.Block->LoadedOf(cls);
            if (loaded->Count == 0)
            {
                Magazine* previous = tc.Previous[cls];
                if (previous->Count != 0)
                {
                    loaded = tc.Load(cls, previous, loaded);
                }
                else if (_sharedDepot.FullCount(cls) != 0 && _sharedDepot.TakeFull(cls, previous, HomeCpu().Slabs.Cpu, out Magazine* surplus) is var shared && shared != null)
                {
                    // Both empty, and another CPU's frees overflowed to the shared depot: take a full magazine from there.
                    if (surplus != null) Magazine.Destroy(_arena, surplus);
                    loaded = tc.Load(cls, shared, loaded);
                }
                else
                {
                    // Both empty: a full magazine from the CPU's depot for the empty previous one, or objects from the slabs.
                    CpuCache cache = EnterHomeCpu();
                    Magazine* spare = null;
                    ref MagazineDepot depot = ref cache.Depot[cls];
                    Magazine* full = cache.TakeFull(cls);
                    if (full != null)
                    {
                        if (!depot.TryPutEmpty(previous)) spare = previous;
                        loaded = tc.Load(cls, full, loaded);
                    }
                    else
                    {
                        int n = cache.Slabs.TryAllocateBatch(cls, Magazine.Items(loaded), loaded->Capacity);
                        new Span<nuint>(Magazine.Items(loaded), n).Reverse();     // popped from the top: lowest address first
                        loaded->Count = n;
                        Magazine.MarkAll(loaded);
                    }
                    ExitCpu(cache);
                    if (spare != null) Magazine.Destroy(_arena, spare);
                    if (loaded->Count == 0) dry = cache;
                }
            }
        }
        finally { tc.ExchangeLock.Exit(); }
        if (dry is not null) return TryAllocateWithNewSlab(dry, cls, out pointer);
        Magazine.TryPop(loaded, out nuint address);
        pointer = (void*)address;
        return true;
    }

    /// <summary>A small object straight from the CPU's slab allocator, under its lock (thread caches off).</summary>
    private bool TryAllocateFromSlabs(int cls, out void* pointer)
    {
        CpuCache cache = HomeCpu();
        cache.Lock.Enter();
        nuint address = cache.Slabs.TryAllocate(cls);
        ExitCpu(cache);
        if (address != 0)
        {
            *(nuint*)address = 0;
            pointer = (void*)address;
            return true;
        }
        return TryAllocateWithNewSlab(cache, cls, out pointer);
    }

    /// <inheritdoc />
    public void* Reallocate(void* pointer, nuint newSize) => ReallocateCore(pointer, newSize, CallerBlock);

    internal void* ReallocateCore(void* pointer, nuint newSize, ThreadCacheBlock* caller)
    {
        if (pointer == null) return AllocateCore(newSize, caller);
        ThreadCache? call = EnterCall(caller);
        try { return ReallocateLocked(pointer, newSize, call is null ? null : call.Block); }
        finally { ExitCall(call); }
    }

    private void* ReallocateLocked(void* pointer, nuint newSize, ThreadCacheBlock* tc)
    {
        nuint address = (nuint)pointer;
        nuint pages = LiveBlock(address, tc, out SlabHeader* slab);
        int newClass = _table.Find(newSize, INativeAllocator.DefaultAlignment(newSize));
        nuint capacity;
        if (slab != null)
        {
            if (newClass == slab->ClassIndex) return pointer;
            capacity = slab->ObjectSize;
        }
        else
        {
            nuint newPages = newSize > nuint.MaxValue - (nuint)_pageSize ? nuint.MaxValue : PagesFor(newSize);
            // In place only while the new size still takes pages: a sized free must find it where its size says.
            if (newClass < 0 && newPages <= pages)
            {
                if (newPages < pages) _pages.Shrink(address, pages, newPages);
                return pointer;
            }
            capacity = pages << _pageShift;
        }
        nuint alignment = INativeAllocator.DefaultAlignment(newSize);
        if (!TryAllocateLocked(newSize, alignment, tc, out void* moved)) ThrowHelper.NoMemory(newSize, alignment);
        Buffer.MemoryCopy(pointer, moved, newSize, Math.Min(capacity, newSize));
        FreeLocked(pointer, tc);
        return moved;
    }

    /// <inheritdoc />
    public nuint UsableSize(void* pointer) => UsableSizeCore(pointer, CallerBlock);

    internal nuint UsableSizeCore(void* pointer, ThreadCacheBlock* caller)
    {
        ThreadCache? call = EnterCall(caller);
        try
        {
            nuint pages = LiveBlock((nuint)pointer, call is null ? null : call.Block, out SlabHeader* slab);
            return slab != null ? slab->ObjectSize : pages << _pageShift;
        }
        finally { ExitCall(call); }
    }

    /// <summary>Checks that <paramref name="address"/> is a live block and answers what it is: an object of the slab
    /// <paramref name="slab"/> (and 0), or a page run (<paramref name="slab"/> null, and its page count). Anything else
    /// throws: a free or cached block, an interior pointer, an address outside every region.</summary>
    private nuint LiveBlock(nuint address, ThreadCacheBlock* tc, out SlabHeader* slab)
    {
        if (!_ready) ThrowNotReady();
        slab = null;
        if (!_pages.TryFindRun(address, out nuint start, out nuint pages, out PageFlags flags) || flags == RunStates.Cached)
            ThrowHelper.NotLive(address, _pages.IsInRegion(address));
        if (flags == RunStates.PageRun) ThrowHelper.WrongApi(address, pagesApi: true);
        if (flags == RunStates.Metadata) ThrowHelper.NotAllocated(address, "lies in the allocator's own metadata, not in a block it handed out");
        if (flags != PageFlags.Slab)
        {
            if (start != address) ThrowHelper.InsideRun(address, start);
            return pages;
        }
        var s = (SlabHeader*)start;
        int index = SlabHeader.IndexOf(s, address);
        if (index < 0 || SlabHeader.IsFreeOrPending(s, index)) ThrowHelper.NotLive(address, inRegion: true);
        if (IsMarked(address)) ThrowIfCached(address, s->ClassIndex, tc);
        slab = s;
        return 0;
    }
}
