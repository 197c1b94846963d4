using System.Numerics;
using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Diagnostics;
using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// The complete allocator: small objects from per-CPU slab caches, everything else from buddy pages.
/// <para><b>Routing.</b> A request whose size and alignment fit a size class (at most 2048 bytes) is served by the
/// calling thread's magazine for the class, with no lock and no atomic operation; an empty or full magazine is
/// exchanged with the depot of the caller's CPU (<see cref="IPlatform.CurrentProcessor"/>), or filled from and
/// flushed to that CPU's slab allocator, under that CPU's lock. Larger requests take whole pages from the
/// <see cref="BuddyAllocator"/> under the buddy lock. A slab that runs dry is refilled from the buddy with the CPU
/// lock released, so the two locks are never held together. With <see cref="ThreadCaches"/> off, every small
/// request goes straight to the CPU's slab allocator under its lock.</para>
/// <para><b>Frees</b> find their block without any lock: the sized form masks the address down to its slab (the slab
/// is aligned to its size) and checks one page record; the unsized form finds the page run holding the address.
/// An object freed on its owner's CPU returns to its bitmap under that CPU's lock; one freed on another CPU is
/// pushed lock-free on its slab and drained by the owner later (see <see cref="SlabAllocator"/>).</para>
/// <para><b>Statistics</b> are page occupancy, as in the buddy: objects in magazines, cached empty slabs and
/// undrained remote frees count as allocated until <see cref="Trim"/>.</para>
/// <para>Thread-safe. Bad pointers throw <see cref="AllocatorException"/> and change nothing.</para>
/// </summary>
public sealed unsafe partial class GlobalAllocator : INativeAllocator
{
    private readonly int _pageSize;
    private readonly int _pageShift;
    private readonly SizeClassTable _table;
    private BuddyAllocator _buddy = null!;
    private BackoffLock _buddyLock;
    private CpuCache[] _cpus = [];
    private IPlatform _platform = HostPlatform.Instance;
    private bool _onHost;
    private volatile bool _ready;
    private bool _disposed;
    private int _growthCount;                    // regions added or in-place growths: lets racing growers see each other
    private nuint _cookie;                       // marks objects sitting in magazines: first word = address ^ cookie
    private static long s_lastToken;

    /// <summary>This allocator's token in its thread caches' blocks: unique in the process, never 0 (see <see cref="ThreadCacheBlock"/>).</summary>
    internal readonly nint Token = (nint)Interlocked.Increment(ref s_lastToken);
    // The first section, cached for the free fast path; zero-sized (so never matched) before Init and after disposal.
    private nuint _firstPages;
    private nuint _firstPagesBytes;
    private PageRecord* _firstRecords;
    private readonly SlabClassInfo* _classInfo; // per class: what a free checks an object's position against (pinned)
    private readonly SlabClassInfo[] _classInfoArray;

    /// <summary>Adds memory when the buddy runs out: given the bytes and alignment needed and the growth count the caller
    /// saw, answers whether it is worth retrying. Set by the native heap.</summary>
    internal Func<nuint, nuint, int, bool>? Grow;

    /// <summary>Creates an allocator for pages of <paramref name="pageSize"/> bytes (a power of two from 1 KiB to 64 KiB).</summary>
    public GlobalAllocator(int pageSize = 4096)
    {
        if (pageSize < 1024 || pageSize > 65536 || !BitOperations.IsPow2(pageSize))
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "The page size must be a power of two from 1 KiB to 64 KiB.");
        _pageSize = pageSize;
        _pageShift = BitOperations.Log2((uint)pageSize);
        _table = SizeClassTable.For(pageSize);
        _classInfoArray = GC.AllocateArray<SlabClassInfo>(_table.Classes.Length, pinned: true);
        for (int c = 0; c < _classInfoArray.Length; c++) _classInfoArray[c] = SlabClassInfo.For(_table, c);
        _classInfo = (SlabClassInfo*)Unsafe.AsPointer(ref _classInfoArray[0]);
    }

    /// <summary>The page size in bytes.</summary>
    public int PageSize => _pageSize;

    /// <summary>True between a successful <see cref="Init"/> and disposal of the owning heap.</summary>
    public bool IsInitialized => _ready;

    /// <summary>Starts managing the first region, with one slab cache per CPU of <paramref name="platform"/>.</summary>
    public void Init(void* region, nuint size, IPlatform? platform = null)
    {
        if (_ready || _disposed) ThrowHelper.Throw(AllocError.AlreadyInitialized, "The global allocator is already initialized; use AddRegion for more memory.");
        platform ??= HostPlatform.Instance;
        if (platform.ProcessorCount is < 1 or > ushort.MaxValue)
            ThrowHelper.Throw(AllocError.InvalidParam, $"Processor count {platform.ProcessorCount} is out of range.");
        var buddy = new BuddyAllocator(_pageSize, platform);
        buddy.Init(region, size);
        Start(buddy, platform);
    }

    /// <summary>Starts over a zero-filled reservation of which <paramref name="initialBytes"/> are used at first (see <see cref="GrowInPlace"/>).</summary>
    internal void InitReserved(void* region, nuint size, nuint initialBytes, IPlatform? platform)
    {
        if (_ready || _disposed) ThrowHelper.Throw(AllocError.AlreadyInitialized, "The global allocator is already initialized.");
        platform ??= HostPlatform.Instance;
        var buddy = new BuddyAllocator(_pageSize, platform);
        buddy.InitReserved(region, size, initialBytes);
        Start(buddy, platform);
    }

    private void Start(BuddyAllocator buddy, IPlatform platform)
    {
        if (platform.ProcessorCount is < 1 or > ushort.MaxValue)
            ThrowHelper.Throw(AllocError.InvalidParam, $"Processor count {platform.ProcessorCount} is out of range.");
        var cpus = new CpuCache[platform.ProcessorCount];
        _cookie = (nuint)Random.Shared.NextInt64() | 1;
        for (int i = 0; i < cpus.Length; i++)
        {
            cpus[i] = new CpuCache(_pageSize, i);
            cpus[i].Pages.Reaping = _purgeIntervalMilliseconds > 0;     // passes reap the page caches: they may hold more
            cpus[i].Slabs.Cookie = _cookie;          // free marks are the same whichever CPU writes them
        }
        _buddy = buddy;
        _cpus = cpus;
        _sharedDepot = new SharedDepot(_table, cpus.Length) { Reaping = _purgeIntervalMilliseconds > 0 };
        _platform = platform;
        _onHost = platform is HostPlatform;
        BuddySection* first = buddy.SectionPointer(0);
        _firstPages = first->FirstPage;
        _firstRecords = first->Records;
        _firstPagesBytes = first->EndOfPages - first->FirstPage;
        _growthCount = 1;
        _ready = true;
    }

    /// <summary>Adds another region; it must not overlap a managed one.</summary>
    public void AddRegion(void* region, nuint size)
    {
        EnsureReady();
        _buddyLock.Enter();
        try { _buddy.AddRegion(region, size); _growthCount++; }
        finally { _buddyLock.Exit(); }
    }

    // ---- objects ----

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size) => AllocateCore(size, CallerBlock);

    /// <summary><see cref="Allocate(nuint)"/> with the caller's thread cache: this thread's, or a <see cref="ThreadHeap"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void* AllocateCore(nuint size, ThreadCacheBlock* tc)
    {
        // The fast path: a default-aligned small object popped from the thread's magazine.
        if (size <= SizeClass.MaxObjectSize && tc != null && tc->Owner == Token)
        {
            Magazine* m = tc->LoadedOf(SizeClassTable.DefaultClassOf(size));
            int n = m->Count - 1;
            if (n >= 0)
            {
                m->Count = n;
                nuint address = Magazine.Items(m)[n];
                *(nuint*)address = 0;                 // clear the "in a magazine" mark
                return (void*)address;
            }
        }
        if (size > SizeClass.MaxObjectSize) return AllocatePageRun(size, tc);
        if (!TryAllocateCore(size, size >= 16 ? (nuint)16 : 8, tc, out void* pointer)) ThrowHelper.NoMemory(size, size >= 16 ? (nuint)16 : 8);
        return pointer;
    }

    /// <summary>A default-aligned request that takes pages: straight to the large-object path (the thread's stack of runs
    /// of its length, then the page caches and the buddy), without the class lookup of the general one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocatePageRun(nuint size, ThreadCacheBlock* tc)
    {
        if (!_ready) ThrowNotReady();
        if (!TryAllocateLarge(size, 16, tc, out void* pointer)) ThrowHelper.NoMemory(size, 16);
        return pointer;
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
        if (!_ready) ThrowNotReady();
        if (!SizeClassTable.IsValidAlignment(alignment)) ThrowHelper.InvalidAlignment(alignment);
        int cls = _table.Find(size, alignment);
        if (cls < 0) return TryAllocateLarge(size, alignment, tc, out pointer);

        if (tc != null && tc->Owner == Token)
        {
            Magazine* m = tc->LoadedOf(cls);
            int n = m->Count - 1;
            if (n >= 0)
            {
                m->Count = n;
                nuint address = Magazine.Items(m)[n];
                *(nuint*)address = 0;                 // clear the "in a magazine" mark
                pointer = (void*)address;
                return true;
            }
        }
        return AllocateSmallSlow(cls, tc, out pointer);
    }

    /// <summary>A small object straight from the CPU's slab allocator, under its lock.</summary>
    private bool TryAllocateFromSlabs(int cls, out void* pointer)
    {
        CpuCache cache = CurrentCpu();
        cache.Lock.Enter();
        nuint address = cache.Slabs.TryAllocate(cls);
        bool release = cache.Slabs.HasReleasable;
        cache.Lock.Exit();
        if (release) ReleaseSlabs(cache);
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

    internal void* ReallocateCore(void* pointer, nuint newSize, ThreadCacheBlock* tc)
    {
        if (pointer == null) return AllocateCore(newSize, tc);
        if (!_ready) ThrowNotReady();
        nuint address = (nuint)pointer;
        if (!_buddy.TryFindRun(address, out nuint start, out nuint pages, out PageFlags flags) || flags == RunStates.Cached) ThrowNotLive(address);
        nuint capacity;
        if (flags == PageFlags.Slab)
        {
            var s = (SlabHeader*)start;
            int index = SlabHeader.IndexOf(s, address);
            if (index < 0 || SlabHeader.IsFreeOrPending(s, index)) ThrowNotLive(address);
            if (*(nuint*)address == (address ^ _cookie)) ThrowIfCached(address, s->ClassIndex, tc);
            if (_table.Find(newSize, newSize >= 16 ? (nuint)16 : 8) == s->ClassIndex) return pointer;
            capacity = s->ObjectSize;
        }
        else
        {
            if (start != address) ThrowHelper.NotAllocated(address, $"is inside the allocation at 0x{start:x}, not at its start");
            nuint newPages = newSize > nuint.MaxValue - (nuint)_pageSize ? nuint.MaxValue : PagesFor(newSize);
            // In place only while the new size still takes pages: a sized free must find it where its size says.
            bool staysLarge = _table.Find(newSize, newSize >= 16 ? (nuint)16 : 8) < 0;
            if (staysLarge && newPages <= pages)
            {
                if (newPages < pages) ShrinkPageRun(address, pages, newPages);
                return pointer;
            }
            capacity = pages << _pageShift;
        }
        void* moved = AllocateCore(newSize, tc);
        Buffer.MemoryCopy(pointer, moved, newSize, Math.Min(capacity, newSize));
        FreeCore(pointer, tc);
        return moved;
    }

    /// <inheritdoc />
    public nuint UsableSize(void* pointer) => UsableSizeCore(pointer, CallerBlock);

    internal nuint UsableSizeCore(void* pointer, ThreadCacheBlock* tc)
    {
        if (!_ready) ThrowNotReady();
        nuint address = (nuint)pointer;
        if (!_buddy.TryFindRun(address, out nuint start, out nuint pages, out PageFlags flags) || flags == RunStates.Cached) ThrowNotLive(address);
        if (flags != PageFlags.Slab)
        {
            if (start != address) ThrowHelper.NotAllocated(address, $"is inside the allocation at 0x{start:x}, not at its start");
            return pages << _pageShift;
        }
        var s = (SlabHeader*)start;
        int index = SlabHeader.IndexOf(s, address);
        if (index < 0 || SlabHeader.IsFreeOrPending(s, index)) ThrowNotLive(address);
        if (*(nuint*)address == (address ^ _cookie)) ThrowIfCached(address, s->ClassIndex, tc);
        return s->ObjectSize;
    }

    /// <summary>Drains every CPU's remote frees and returns cached empty slabs to the buddy.</summary>
    public void Trim()
    {
        EnsureReady();
        ReclaimCaches();
        if (Discard is null && ReleaseRegion is null) return;
        List<(nuint Start, nuint End)>? released = null;
        _buddyLock.Enter();
        try
        {
            // Regions with nothing left in them go back whole; of the rest, free blocks of 16 pages or more.
            if (ReleaseRegion is not null) released = _buddy.RemoveFreeSections();
            if (Discard is { } discard) _buddy.DiscardLongFreeBlocks(PurgeMinOrder, discard, all: true);
        }
        finally { _buddyLock.Exit(); }
        if (released is not null)
            foreach (var (start, end) in released) ReleaseRegion!(start, end - start);
    }

    /// <summary>Gives the buddy everything cached above it: this thread's magazines and run stacks, the orphans', every
    /// depot, cached empty slabs, drained remote frees and the CPUs' page runs. For <see cref="Trim"/>, and when a
    /// request finds the buddy empty and no growth possible. Takes every lock in turn; the caller holds none.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReclaimCaches()
    {
        FlushCaches();
        foreach (CpuCache cache in _cpus)
        {
            cache.Lock.Enter();
            cache.Slabs.Trim();
            cache.Lock.Exit();
            ReleaseSlabs(cache);
        }
        DrainPageCaches();
    }

    /// <summary>The buddy allocator, for inspection under the caller's care (not thread-safe).</summary>
    internal BuddyAllocator Buddy => _buddy;

    internal CpuCache Cpu(int index) => _cpus[index];

    internal int GrowthCount => Volatile.Read(ref _growthCount);

    /// <summary>Stops all further use; the owner is about to return the memory.</summary>
    internal void MarkDisposed()
    {
        _disposed = true;
        _ready = false;
        _firstPagesBytes = 0;
        DestroyThreadCaches();
    }

    // ---- internals ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private CpuCache CurrentCpu()
    {
        CpuCache[] cpus = _cpus;
        int cpu = _onHost ? Thread.GetCurrentProcessorId() : _platform.CurrentProcessor;
        if ((uint)cpu >= (uint)cpus.Length) cpu = (int)((uint)cpu % (uint)cpus.Length);
        return cpus[cpu];
    }
}
