using System.Runtime.CompilerServices;
using BuddySlab.Buddy;
using BuddySlab.Caches;
using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// The complete allocator: small objects from per-CPU slab caches, everything else from buddy pages.
/// <para><b>Routing.</b> A request whose size and alignment fit a size class (at most 2048 bytes) is served by the
/// calling thread's magazine for the class, with no lock and no atomic operation; an empty or full magazine is
/// exchanged with the depot of the caller's CPU (<see cref="IPlatform.CurrentProcessor"/>), or filled from and
/// flushed to that CPU's slab allocator, under that CPU's lock. Larger requests take whole pages: runs of up to 16
/// pages from the thread's run stacks and the CPU's page cache, the rest from the <see cref="BuddyAllocator"/> under
/// the buddy lock (the page back end's). A slab that runs dry is refilled with the CPU lock released, so the two
/// locks are never held together. With <see cref="ThreadCaches"/> off, every small request goes straight to the CPU's
/// slab allocator under its lock.</para>
/// <para><b>Frees</b> find their block without any lock: the sized form masks the address down to its slab (the slab
/// is aligned to its size) and checks one page record; the unsized form finds the page run holding the address.
/// An object freed on its owner's CPU returns to its bitmap under that CPU's lock; one freed on another CPU is
/// pushed lock-free on its slab and drained by the owner later (see <see cref="SlabAllocator"/>).</para>
/// <para><b>Statistics</b> are page occupancy, as in the buddy: objects in magazines, cached empty slabs and
/// undrained remote frees count as allocated until <see cref="Trim"/>.</para>
/// <para><b>Files.</b> This one holds the fields and the set-up; the partial files beside it hold allocation
/// (<c>.Allocate.cs</c>), frees (<c>.Free.cs</c>), whole pages and page-run caches (<c>.Pages.cs</c>), thread caches
/// (<c>.ThreadCaches.cs</c>), giving memory back (<c>.Trim.cs</c>) and statistics (<c>.Diagnostics.cs</c>).</para>
/// <para>Thread-safe. Bad pointers throw <see cref="AllocatorException"/> and change nothing.</para>
/// </summary>
public sealed unsafe partial class GlobalAllocator : INativeAllocator, IThreadCacheOwner
{
    private static long s_lastToken;
    [ThreadStatic] private static int t_homeCpu;      // 1 + the calling thread's home CPU; 0 before it has one

    private readonly int _pageSize;
    private readonly int _pageShift;
    private readonly SizeClassTable _table;
    private readonly SlabClassInfo* _classInfo;       // per class: what a free checks an object's position against (pinned)
    private readonly SlabClassInfo[] _classInfoArray;
    private PageBackend _pages = null!;               // the buddy, its lock, growth and the purge clock (set at Init)
    private CpuCache[] _cpus = [];
    private SharedDepot _sharedDepot = null!;         // full magazines CPU depots had no room for (set at Init)
    private MetadataArena _arena = null!;             // magazines and run stacks, on the heap's own pages (set at Init)
    private CacheBudget _budget = null!;              // what the depots and page caches may hold together (set at Init)
    private IPlatform _platform = HostPlatform.Instance;
    private bool _onHost;
    private volatile bool _ready;
    private volatile bool _disposing;                 // set first thing in Dispose: no new call, no new thread cache
    private int _outsideCalls;                        // threads on the heap's memory outside a call: making or releasing their cache, reading statistics
    private bool _useThreadCaches = true;
    private nuint _cookie;                            // free marks: first word = address ^ cookie (in a magazine, see Magazine)

    // The first section, cached for the free fast path; zero-sized (so never matched) before Init and after disposal.
    private nuint _firstPages;
    private nuint _firstPagesBytes;
    private PageRecord* _firstRecords;

    // Thread caches (see .ThreadCaches.cs).
    private readonly Lock _cachesLock = new();
    private readonly List<ThreadCache> _threadCaches = [];    // every live cache, for Dispose
    private readonly List<ThreadCache> _orphans = [];         // caches of exited threads, not yet flushed
    private volatile int _orphanCount;
    private readonly Lock _revokeLock = new();        // one revoker of other threads' caches at a time
    private readonly List<ThreadCache> _snapshot = [], _revoked = [], _quiet = [];   // reused under _revokeLock
    private readonly Lock _passLock = new();          // held by a purge pass; Dispose waits for it
    private long _pass;                               // purge passes so far; a slow call stamps its cache with it
    private long _uncachedCalls, _uncachedCallsSeen;  // calls with thread caches off, and at the previous pass

    /// <summary>This allocator's token in its thread caches' blocks: unique in the process, never 0 (see <see cref="ThreadCacheBlock"/>).</summary>
    internal readonly nint Token = (nint)Interlocked.Increment(ref s_lastToken);

    /// <summary>Creates an allocator for pages of <paramref name="pageSize"/> bytes (a power of two from 1 KiB to 64 KiB).</summary>
    public GlobalAllocator(int pageSize = 4096)
    {
        PageSizes.ThrowIfInvalidForSlabs(pageSize, nameof(pageSize));
        _pageSize = pageSize;
        _pageShift = System.Numerics.BitOperations.Log2((uint)pageSize);
        _table = SizeClassTable.For(pageSize);
        _classInfoArray = GC.AllocateArray<SlabClassInfo>(_table.Classes.Length, pinned: true);
        for (int c = 0; c < _classInfoArray.Length; c++) _classInfoArray[c] = SlabClassInfo.For(_table, c);
        _classInfo = (SlabClassInfo*)Unsafe.AsPointer(ref _classInfoArray[0]);
    }

    /// <summary>The page size in bytes.</summary>
    public int PageSize => _pageSize;

    /// <summary>True between a successful <see cref="Init"/> and disposal of the owning heap.</summary>
    public bool IsInitialized => _ready;

    /// <summary>Whether small objects go through per-thread magazines (the default). Set before <see cref="Init"/>;
    /// turn it off where threads are not the unit of execution (a kernel's own scheduler) to route every small
    /// request to the CPU's slab allocator under its lock.</summary>
    public bool ThreadCaches
    {
        get => _useThreadCaches;
        set
        {
            if (_ready || _disposing) throw new InvalidOperationException("ThreadCaches must be set before Init.");
            _useThreadCaches = value;
        }
    }

    /// <summary>Starts managing the first region, with one slab cache per CPU of <paramref name="platform"/>.</summary>
    public void Init(void* region, nuint size, IPlatform? platform = null)
    {
        ThrowIfStarted("use AddRegion for more memory");
        platform ??= HostPlatform.Instance;
        ThrowIfBadPlatform(platform);
        var buddy = new BuddyAllocator(_pageSize, platform);
        buddy.Init(region, size);
        Start(buddy, platform);
    }

    /// <summary>Starts over a zero-filled reservation of which <paramref name="initialBytes"/> are used at first; the
    /// page back end grows into the rest through <paramref name="source"/>.</summary>
    internal void InitReserved(void* region, nuint size, nuint initialBytes, IPlatform? platform, IRegionSource source)
    {
        ThrowIfStarted("it cannot start twice");
        platform ??= HostPlatform.Instance;
        ThrowIfBadPlatform(platform);
        var buddy = new BuddyAllocator(_pageSize, platform);
        buddy.InitReserved(region, size, initialBytes);
        Start(buddy, platform);
        _pages.Source = source;
    }

    private void ThrowIfStarted(string advice)
    {
        if (_ready || _disposing) ThrowHelper.Throw(AllocError.AlreadyInitialized, $"The global allocator is already initialized; {advice}.");
    }

    private static void ThrowIfBadPlatform(IPlatform platform)
    {
        if (platform.ProcessorCount is < 1 or > ushort.MaxValue)
            ThrowHelper.Throw(AllocError.InvalidParam, $"Processor count {platform.ProcessorCount} is out of range.");
    }

    private void Start(BuddyAllocator buddy, IPlatform platform)
    {
        var cpus = new CpuCache[platform.ProcessorCount];
        _cookie = (nuint)Random.Shared.NextInt64() | 1;
        _budget = new CacheBudget(cpus.Length);
        for (int i = 0; i < cpus.Length; i++)
        {
            cpus[i] = new CpuCache(_pageSize, i, _budget);
            cpus[i].Slabs.Cookie = _cookie;          // free marks are the same whichever CPU writes them
        }
        _pages = new PageBackend(buddy);
        _arena = new MetadataArena(_pages);
        _cpus = cpus;
        _sharedDepot = new SharedDepot(_table, cpus.Length, _budget);
        _platform = platform;
        _onHost = platform is HostPlatform;
        BuddySection* first = buddy.SectionPointer(0);
        _firstPages = first->FirstPage;
        _firstRecords = first->Records;
        _firstPagesBytes = first->EndOfPages - first->FirstPage;
        _ready = true;
    }

    /// <summary>Adds another region; it must not overlap a managed one.</summary>
    public void AddRegion(void* region, nuint size)
    {
        ThreadCache? tc = EnterCall();
        try { _pages.AddRegion(region, size); }
        finally { ExitCall(tc); }
    }

    /// <summary>The buddy allocator, for inspection under the caller's care (not thread-safe).</summary>
    internal BuddyAllocator Buddy => _pages.Buddy;

    /// <summary>Where growth comes from and free memory goes back to: set by the native heap (for tests, set by hand
    /// over a caller's region); none by default.</summary>
    internal IRegionSource? RegionSource
    {
        get => _pages.Source;
        set => _pages.Source = value;
    }

    internal CpuCache Cpu(int index) => _cpus[index];

    internal int GrowthCount => _pages.GrowthCount;

    /// <summary>Stops all further use and waits until no call is in flight, so the owner may then return the memory:
    /// calls that start from now on throw <see cref="ObjectDisposedException"/>, a purge pass in progress finishes, and
    /// every thread cache is disarmed and waited out (see <see cref="RetireThreadCaches"/>).</summary>
    internal void MarkDisposed()
    {
        _disposing = true;
        Interlocked.MemoryBarrier();                    // against EnterRead's and a cache maker's increment-then-check
        for (var spin = new SpinWait(); Volatile.Read(ref _outsideCalls) != 0;) spin.SpinOnce();
        BackgroundClock.Unregister(this);
        lock (_passLock) _ready = false;               // a pass in progress ends first; later ones see _disposing
        _firstPagesBytes = 0;
        if (_pages is not null) _pages.Close();
        if (_useThreadCaches) RetireThreadCaches();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private CpuCache CurrentCpu()
    {
        CpuCache[] cpus = _cpus;
        int cpu = _onHost ? Thread.GetCurrentProcessorId() : _platform.CurrentProcessor;
        if ((uint)cpu >= (uint)cpus.Length) cpu = (int)((uint)cpu % (uint)cpus.Length);
        return cpus[cpu];
    }

    /// <summary>The CPU whose slabs serve the calling thread's small objects: on the host, the thread's home CPU, the one
    /// it ran on when it first needed one, kept until its lock is found taken (see <see cref="EnterHomeCpu"/>); on another
    /// platform, the CPU it reports. A thread the scheduler moves between cores so keeps filling and emptying one CPU's
    /// slabs: on the CPU it happens to run on, a single thread that migrated built a second set of slabs beside the first
    /// (twice the pages for one working set), made new slabs while the other CPU's sat half free, and freed its own
    /// objects remotely.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private CpuCache HomeCpu()
    {
        if (!_onHost) return CurrentCpu();
        int home = t_homeCpu - 1;
        return home < 0 ? ChooseHomeCpu() : _cpus[(uint)home % (uint)_cpus.Length];
    }

    /// <summary>Makes the CPU the calling thread runs on its home (see <see cref="HomeCpu"/>) and answers it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private CpuCache ChooseHomeCpu()
    {
        CpuCache current = CurrentCpu();
        t_homeCpu = current.Slabs.Cpu + 1;
        return current;
    }

    /// <summary>Takes the lock of the calling thread's home CPU and answers that CPU. When another thread holds it and the
    /// caller runs on another CPU, the caller moves home to that CPU instead: two threads that share a home while they
    /// run side by side (a thread started where another lives, or a replacement for one that exited) part at the first
    /// such meeting, while a lone thread, whose home lock is free whenever it asks, keeps its home. A visitor holding the
    /// lock (a reading, a pass, a trim: see <see cref="CpuCache"/>) is no such meeting: the caller waits for it.</summary>
    private CpuCache EnterHomeCpu()
    {
        CpuCache home = HomeCpu();
        int visits = home.VisitsEnded;
        if (home.Lock.TryEnter()) return home;
        if (_onHost && !home.VisitedSince(visits))
        {
            CpuCache current = CurrentCpu();
            if (current != home)
            {
                t_homeCpu = current.Slabs.Cpu + 1;
                current.Lock.Enter();
                return current;
            }
        }
        home.Lock.Enter();
        return home;
    }

    /// <summary>Leaves a CPU's lock, then gives the buddy the slabs that emptied meanwhile (if any): every locked step on a
    /// CPU's slabs ends this way, so an emptied slab never waits for a later call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExitCpu(CpuCache cache)
    {
        bool emptied = cache.Slabs.HasEmptySlabs;
        cache.Lock.Exit();
        if (emptied) FlushEmptySlabs(cache, visit: false);
    }

    /// <summary><see cref="ExitCpu"/> for a lock taken with <see cref="CpuCache.EnterAsVisitor"/>.</summary>
    private void ExitCpuAsVisitor(CpuCache cache)
    {
        bool emptied = cache.Slabs.HasEmptySlabs;
        cache.ExitAsVisitor();
        if (emptied) FlushEmptySlabs(cache, visit: true);
    }

    private void EnsureReady()
    {
        if (!_ready) ThrowNotReady();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotReady()
    {
        if (_disposing) ThrowHelper.Disposed("heap");
        ThrowHelper.NotInitialized("global allocator");
    }
}
