using System.Runtime.CompilerServices;
using BuddySlab.Diagnostics;
using BuddySlab.Os;

namespace BuddySlab.Buddy;

/// <summary>
/// The page layer under an allocator: one <see cref="BuddyAllocator"/> and the lock that serialises it, growth when it
/// runs dry, the purge interval, and the way free memory goes back to the system, all through one
/// <see cref="IRegionSource"/> (none for caller-provided regions: no growth, nothing given back).
/// <para><b>Invariants.</b> The buddy lock is taken in this file only, around one buddy call or one batch of them, and
/// nothing here takes another allocator lock while holding it, so it can never nest with a CPU's lock. Growth runs
/// under its own lock, one grower at a time; <see cref="GrowthCount"/> rises with every region added or in-place
/// growth, so a request that failed can tell whether another thread grew the heap meanwhile and simply retry.
/// Lookups of a live run's records (<see cref="TryFindRun"/>, <see cref="RunHead"/>, <see cref="IsSlabRunAt"/>) take no
/// lock: a run the caller holds cannot change under it, and the section table is replaced whole.</para>
/// <para><b>Counters.</b> Bytes released to the system, trims, growths and failed allocations only ever rise; each is
/// counted where the event happens (never on an allocation or free that succeeds) and read without a lock.</para>
/// </summary>
internal sealed unsafe class PageBackend
{
    /// <summary>The smallest free block given back to the system: 16 pages (64 KiB with 4 KiB pages).</summary>
    public const int ReleaseMinOrder = 4;

    private readonly BuddyAllocator _buddy;
    private readonly int _pageShift;
    private BackoffLock _lock;                        // every call into _buddy
    private readonly Lock _growLock = new();          // one grower at a time, and disposal
    private readonly HashSet<nuint> _freeRegionsAtLastPurge = [];
    private IRegionSource? _source;
    private Action<nuint, nuint>? _discard;           // the source's, made once: a purge pass allocates nothing
    private bool _closed;
    private int _growthCount = 1;
    private long _purgeIntervalMilliseconds;
    private long _operations, _operationsSeen;       // buddy calls so far, and at the last TakeActivity
    private nuint _metadataBytes;                     // pages kept for the allocator's own structures (under _lock)
    private long _releasedBytes;                      // discarded blocks and released regions, so far
    private long _trims, _inPlaceGrowths, _regionGrowths, _failedAllocations;

    public PageBackend(BuddyAllocator buddy)
    {
        _buddy = buddy;
        _pageShift = System.Numerics.BitOperations.Log2((uint)buddy.PageSize);
    }

    /// <summary>The buddy allocator itself, for inspection under the caller's care (not thread-safe).</summary>
    public BuddyAllocator Buddy => _buddy;

    /// <summary>Where growth comes from and free memory goes; null for caller-provided regions.</summary>
    public IRegionSource? Source
    {
        get => _source;
        set
        {
            _discard = value is null ? null : DiscardAndCount(value);
            _source = value;
        }
    }

    /// <summary>The source's discard, counting the bytes it gives back where the system takes discarded pages back
    /// (elsewhere the OS layer keeps them: see <see cref="OsMemory.Discard"/>).</summary>
    private Action<nuint, nuint> DiscardAndCount(IRegionSource source)
    {
        if (!OsMemory.CanReserveAndDiscard) return source.Discard;
        return (address, bytes) =>
        {
            source.Discard(address, bytes);
            Interlocked.Add(ref _releasedBytes, (long)bytes);
        };
    }

    /// <summary>Regions added or in-place growths so far: a failed request compares it before and after.</summary>
    public int GrowthCount => Volatile.Read(ref _growthCount);

    // ---- pages ----

    /// <summary>Adds a caller-provided region; it must not overlap a managed one.</summary>
    public void AddRegion(void* region, nuint size)
    {
        using (_lock.Hold())
        {
            _buddy.AddRegion(region, size);
            _growthCount++;
        }
    }

    /// <summary><paramref name="count"/> pages aligned to <paramref name="alignment"/> (below 4 GiB physical with
    /// <paramref name="lowMemory"/>), or false when no free block fits.</summary>
    public bool TryAllocate(nuint count, nuint alignment, bool lowMemory, out nuint address)
    {
        using (_lock.Hold())
        {
            _operations++;
            return lowMemory ? _buddy.TryAllocatePagesLowMem(count, alignment, out address) : _buddy.TryAllocatePages(count, alignment, out address);
        }
    }

    /// <summary>A spanning run (see <see cref="BuddyAllocator.TryAllocateSpanning"/>): the last resort for a large run that
    /// no free block can hold when the heap cannot grow.</summary>
    public bool TryAllocateSpanning(nuint count, nuint alignment, bool lowMemory, out nuint address)
    {
        using (_lock.Hold())
        {
            _operations++;
            return _buddy.TryAllocateSpanning(count, alignment, lowMemory, out address);
        }
    }

    /// <summary>Frees a live run the caller took from here (a slab, a cached run or a displaced one).</summary>
    public void Free(nuint address, nuint count)
    {
        using (_lock.Hold())
        {
            _operations++;
            _buddy.FreePages(address, count);
        }
    }

    /// <summary>Marks a live run the caller just took as the allocator's own metadata: counted apart from
    /// <see cref="AllocatedBytes"/>, and refused to any free of a program.</summary>
    public void MarkMetadata(nuint run)
    {
        using (_lock.Hold())
        {
            PageRecord* head = _buddy.RunHeadRecord(run);
            head->Flags = RunStates.Metadata;
            _metadataBytes += (nuint)head->RunLength << _pageShift;
        }
    }

    /// <summary>Gives back a run of metadata (see <see cref="MarkMetadata"/>) that holds nothing any more.</summary>
    public void FreeMetadata(nuint run)
    {
        using (_lock.Hold())
        {
            PageRecord* head = _buddy.RunHeadRecord(run);
            if (head == null || head->Flags != RunStates.Metadata) ThrowHelper.NotAllocated(run, "is not a run of the allocator's metadata");
            nuint pages = head->RunLength;
            head->Flags = PageFlags.Allocated;
            _metadataBytes -= pages << _pageShift;
            _operations++;
            _buddy.FreePages(run, pages);
        }
    }

    /// <summary>Frees a run a program handed back, whose head record is <paramref name="head"/> (null when the address
    /// heads no run): a slab, the allocator's metadata or a run already cached above is refused, as is anything the
    /// buddy refuses.</summary>
    public void FreeProgramRun(nuint address, nuint count, PageRecord* head)
    {
        using (_lock.Hold())
        {
            if (_buddy.IsSlabRunAt(address)) ThrowHelper.NotAllocated(address, "is a slab of the small-object layer, not a page allocation");
            if (head != null && head->Flags == RunStates.Metadata) ThrowHelper.NotAllocated(address, "is the allocator's own metadata, not a page allocation");
            if (head != null && head->Flags == RunStates.Cached) ThrowHelper.NotAllocated(address, "is already free (double free)");
            _operations++;
            _buddy.FreePages(address, count);
        }
    }

    /// <summary>Frees every run of a chain under one hold of the lock.</summary>
    public void Free(RunChain chain)
    {
        if (chain.IsEmpty) return;
        using (_lock.Hold())
        {
            _operations++;
            while (chain.TryTake(out nuint run, out nuint pages)) _buddy.FreePages(run, pages);
        }
    }

    /// <summary>Shortens the live run at <paramref name="address"/> from <paramref name="count"/> to <paramref name="newCount"/> pages.</summary>
    public void Shrink(nuint address, nuint count, nuint newCount)
    {
        using (_lock.Hold()) _buddy.ShrinkPages(address, count, newCount);
    }

    // ---- lock-free lookups of live runs ----

    /// <inheritdoc cref="BuddyAllocator.TryFindRun"/>
    public bool TryFindRun(nuint address, out nuint start, out nuint pages, out PageFlags flags) => _buddy.TryFindRun(address, out start, out pages, out flags);

    /// <inheritdoc cref="BuddyAllocator.IsSlabRunAt"/>
    public bool IsSlabRunAt(nuint address) => _buddy.IsSlabRunAt(address);

    /// <inheritdoc cref="BuddyAllocator.RunHeadRecord"/>
    public PageRecord* RunHead(nuint address) => _buddy.RunHeadRecord(address);

    /// <summary>True when <paramref name="address"/> lies in a managed region (its pages, metadata or tail).</summary>
    public bool IsInRegion(nuint address) => _buddy.FindSection(address) != null;

    // ---- growth ----

    /// <summary>Makes room for <paramref name="bytes"/> aligned to <paramref name="alignment"/>: more of the reservation,
    /// or a new region. True when the caller should retry: the heap grew, here or, since the caller saw
    /// <paramref name="growthsSeen"/>, on another thread.</summary>
    public bool TryGrow(nuint bytes, nuint alignment, int growthsSeen)
    {
        IRegionSource? source = _source;
        if (source is null || bytes > source.MaxRequestBytes) return false;     // could never be met: take nothing
        lock (_growLock)
        {
            if (_closed) return false;
            if (GrowthCount != growthsSeen) return true;
            // Room for the block at its alignment wherever the new pages happen to start.
            nuint rounded = AddressMath.RoundUpToPowerOfTwo(bytes);
            nuint block = Math.Max(rounded, alignment);
            if (rounded == 0 || block > nuint.MaxValue / 4 || block / 2 > source.MaxRequestBytes) return false;

            nuint reservedLeft = ReservedBytesLeft();
            if (reservedLeft != 0)
            {
                nuint added = GrowInPlace(source.InPlaceGrowth(block, reservedLeft));
                if (added != 0)
                {
                    source.Committed(added);
                    Interlocked.Increment(ref _inPlaceGrowths);
                    return true;
                }
            }

            nuint needed = 2 * block;
            needed += BuddyAllocator.RequiredMetadataSize(needed, _buddy.PageSize) + (nuint)_buddy.PageSize;
            if (!source.TryMapRegion(needed, out void* region, out nuint size)) return false;
            try
            {
                using (_lock.Hold())
                {
                    _buddy.AddRegion(region, size, source.MapsZeroedRegions);
                    _growthCount++;
                }
            }
            catch
            {
                source.ReleaseRegion((nuint)region, size);
                throw;
            }
            Interlocked.Increment(ref _regionGrowths);
            return true;
        }
    }

    /// <summary>Takes up to <paramref name="bytes"/> more of the first region's reservation into use; answers the bytes added.</summary>
    private nuint GrowInPlace(nuint bytes)
    {
        using (_lock.Hold())
        {
            nuint pages = _buddy.GrowSection(0, bytes >> _pageShift);
            if (pages != 0) _growthCount++;
            return pages << _pageShift;
        }
    }

    /// <summary>Bytes of the first region's reservation not yet in use.</summary>
    private nuint ReservedBytesLeft()
    {
        using (_lock.Hold()) return _buddy.ReservedPagesLeft(0) << _pageShift;
    }

    /// <summary>Before <c>fork</c>: takes the growth lock (<paramref name="growth"/>) or the buddy lock, in that order.</summary>
    public void LockForFork(bool growth)
    {
        if (growth) _growLock.Enter();
        else _lock.Enter();
    }

    /// <summary>After <c>fork</c>: lets go of what <see cref="LockForFork"/> took, the buddy lock first.</summary>
    public void UnlockAfterFork(bool growth)
    {
        if (growth) _growLock.Exit();
        else _lock.Exit();
    }

    /// <summary>Stops growth for good: the owner is about to return the memory.</summary>
    public void Close()
    {
        lock (_growLock) _closed = true;
    }

    // ---- the purge interval ----

    /// <summary>How often a purge pass runs, in milliseconds; 0: never (only on trims).</summary>
    public long PurgeIntervalMilliseconds
    {
        get => _purgeIntervalMilliseconds;
        set => _purgeIntervalMilliseconds = Math.Max(0, value);
    }

    /// <summary>True when the buddy was called since the previous call of this (a purge pass asks whether the heap
    /// was used at all in its interval).</summary>
    public bool TakeActivity()
    {
        using (_lock.Hold())
        {
            bool used = _operations != _operationsSeen;
            _operationsSeen = _operations;
            return used;
        }
    }

    // ---- giving memory back ----

    /// <summary>Releases free memory to the system, at once (<c>MADV_DONTNEED</c> through the source: the resident size
    /// drops now, where <c>MADV_FREE</c> would leave it counted until the system runs short). With <paramref name="all"/>
    /// (a trim, or a pass over an idle heap): every free block of 16 pages or more not released yet, and every added
    /// region that holds nothing. Otherwise (a purge pass): the free blocks of 16 pages or more that were free already at
    /// the previous pass, and the added regions free at this pass and the previous one.</summary>
    public void ReleaseFreeMemory(bool all)
    {
        if (all) Interlocked.Increment(ref _trims);
        IRegionSource? source = _source;
        if (source is null) return;
        List<(nuint Start, nuint End)>? released = null;
        using (_lock.Hold())
        {
            if (all)
            {
                released = _buddy.RemoveFreeSections();
            }
            else if (_buddy.SectionCount > 1)
            {
                HashSet<nuint> seen = _freeRegionsAtLastPurge;
                if (seen.Count > 0) released = _buddy.RemoveFreeSections(seen.Contains);
                _buddy.CollectFreeSections(seen);
            }
            _buddy.DiscardLongFreeBlocks(ReleaseMinOrder, _discard!, all);
        }
        if (released is not null)
            foreach (var (start, end) in released)
            {
                source.ReleaseRegion(start, end - start);
                Interlocked.Add(ref _releasedBytes, (long)(end - start));
            }
    }

    // ---- statistics ----

    /// <summary>Number of managed regions.</summary>
    public int SectionCount => _buddy.SectionCount;

    /// <summary>Bytes of managed pages.</summary>
    public nuint ManagedBytes
    {
        get { using (_lock.Hold()) return _buddy.ManagedBytes; }
    }

    /// <summary>Bytes of pages in use, slabs and cached runs included, the allocator's own metadata not.</summary>
    public nuint AllocatedBytes
    {
        get { using (_lock.Hold()) return _buddy.AllocatedBytes - _metadataBytes; }
    }

    /// <summary>Bytes of pages the allocator keeps for its own structures.</summary>
    public nuint MetadataBytes
    {
        get { using (_lock.Hold()) return _metadataBytes; }
    }

    /// <summary>A summary of region <paramref name="index"/>.</summary>
    public ManagedSection GetSection(int index)
    {
        using (_lock.Hold()) return _buddy.GetSection(index);
    }

    /// <summary>Every section's pages and free blocks counted by order, read under the lock (a statistics snapshot):
    /// O(free blocks), and it allocates.</summary>
    public SectionStatistics[] ReadSections()
    {
        using (_lock.Hold())
        {
            var sections = new SectionStatistics[_buddy.SectionCount];
            for (int i = 0; i < sections.Length; i++)
            {
                ManagedSection summary = _buddy.GetSection(i);
                var byOrder = new nuint[FreeArea.MaxOrder + 1];
                foreach (BuddyInvariants.FreeBlock block in BuddyInvariants.FreeBlocks(_buddy, i)) byOrder[block.Order]++;
                sections[i] = new SectionStatistics(i, summary.Start, summary.TotalPageCount, summary.FreePageCount, byOrder);
            }
            return sections;
        }
    }

    /// <summary>Adds to <paramref name="into"/> the address ranges (start, end) of every section that hold anything: its
    /// header with the records of its managed pages, and those pages (what can be resident). Read under the lock; a
    /// region released after it returns is no longer mapped, so the caller must not read the ranges' memory.</summary>
    public void CollectUsedRanges(List<(nuint Start, nuint End)> into)
    {
        using (_lock.Hold())
        {
            for (int i = 0; i < _buddy.SectionCount; i++)
            {
                BuddySection* s = _buddy.SectionPointer(i);
                into.Add((s->RegionStart, (nuint)(s->Records + s->Frontier)));
                into.Add((s->FirstPage, s->FirstPage + ((nuint)s->Frontier << s->PageShift)));
            }
        }
    }

    // ---- counters (read without a lock) ----

    /// <summary>Bytes given back to the system so far: free blocks discarded (where the system takes them back) and
    /// regions released, each in full every time.</summary>
    public ulong ReleasedBytes => (ulong)Interlocked.Read(ref _releasedBytes);

    /// <summary>Releases of all free memory so far (<see cref="ReleaseFreeMemory"/> with <c>all</c>): trims, and purge
    /// passes over an idle heap.</summary>
    public long Trims => Interlocked.Read(ref _trims);

    /// <summary>Growths so far: in place, or by a new region from the source (regions a caller adds are not counted).</summary>
    public long Growths => Interlocked.Read(ref _inPlaceGrowths) + Interlocked.Read(ref _regionGrowths);

    /// <summary>Requests answered "no memory" so far (see <see cref="CountFailedAllocation"/>).</summary>
    public long FailedAllocations => Interlocked.Read(ref _failedAllocations);

    /// <summary>Counts a request answered "no memory": called once per such request, on its failure path only.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void CountFailedAllocation() => Interlocked.Increment(ref _failedAllocations);

    // ---- the page map (read by GlobalAllocator.PageMap.cs) ----

    /// <summary>Every section's summary into <paramref name="sections"/> and every block of its managed pages into
    /// <paramref name="blocks"/>, in address order, all read under one hold of the lock: a free block as its head record
    /// (<see cref="PageRecord.IsFreeHead"/>, <c>2^Order</c> pages) and a live run as its head record (flags, size class,
    /// <see cref="PageRecord.RunLength"/> pages). The blocks of a section tile its pages below the frontier exactly, so
    /// their lengths add up to its <see cref="ManagedSection.TotalPageCount"/>. O(blocks and runs), and it allocates.</summary>
    public void ReadBlocks(List<ManagedSection> sections, List<(int Section, uint FirstPage, uint Pages, PageRecord Head)> blocks)
    {
        using (_lock.Hold())
        {
            for (int i = 0; i < _buddy.SectionCount; i++)
            {
                sections.Add(_buddy.GetSection(i));
                BuddySection* s = _buddy.SectionPointer(i);
                for (uint page = 0; page < s->Frontier;)
                {
                    PageRecord head = s->Records[page];
                    uint length = head.IsFreeHead ? 1u << head.Order : head.IsRunHead ? head.RunLength : 0;
                    if (length == 0 || length > s->Frontier - page) ThrowLostWalk(i, page);
                    blocks.Add((i, page, length, head));
                    page += length;
                }
            }
        }
    }

    /// <summary>A page where a block should begin holds no free head or run head that fits: the records are broken.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLostWalk(int section, uint page) =>
        throw new InvalidOperationException($"Buddy invariant broken: page {page} of section {section} begins no free block or run that fits the section.");
}
