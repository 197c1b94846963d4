using System.Runtime.CompilerServices;

using BuddySlab.Diagnostics;
using BuddySlab.Os;
using BuddySlab.Objects;
using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// A typed slab cache: hands out uninitialised native memory for single values of <typeparamref name="T"/> (any
/// unmanaged type), carved from fixed-size slabs obtained from an <see cref="ISlabMemoryBackend"/>. Allocation takes
/// an object from the fullest partially used slab (so lightly used slabs drain and go back), and both
/// <see cref="Allocate"/> and <see cref="Free"/> run in constant time without allocating managed memory.
/// <para><b>Layout.</b> Objects are aligned to the natural alignment of <typeparamref name="T"/>, at least 8, and
/// spaced <see cref="ObjectCacheStatistics.ObjectSize"/> bytes apart.</para>
/// <para><b>Invariants</b> between calls:
/// <list type="bullet">
/// <item>Every slab held is in the held list (<c>_held</c>) exactly once; <c>_slabs</c> counts them. Its info records
/// its base, this cache's owner token (<c>_owner</c>), <c>Allocated</c> = the number of set bitmap bits, and a free
/// list (indices linked through the first four bytes of free objects) plus a never-used tail <c>[NextUnused, n)</c>,
/// which together are exactly the clear bits. Live objects hold no metadata; the bitmap, not the free list, decides
/// whether a pointer may be freed, and a link that contradicts it (out of range, or naming an object that is out)
/// makes the slab rebuild its free list from the bitmap.</item>
/// <item>A slab with <c>0 &lt; Allocated &lt; n</c> sits in bucket <c>Allocated &gt;&gt; _bucketShift</c> of
/// <c>_partial</c>; a full slab (<c>Allocated == n</c>) in no bucket, counted by <c>_fullSlabs</c>; an empty slab
/// (<c>Allocated == 0</c>) is <c>_empty</c>, so there is at most one, and its free list is reset to "all never
/// used".</item>
/// <item>Slab memory is aligned to the page size; object <c>i</c> starts at <c>Base + i * _stride</c>, which is
/// aligned to <typeparamref name="T"/> because <c>_stride</c> is a multiple of the alignment and the alignment divides
/// the page size.</item>
/// <item><see cref="ObjectSizeType.Small"/>: the info sits at <c>Base + _infoOffset</c>, after the last object.
/// <see cref="ObjectSizeType.Large"/>: it is separate memory. With one-page Small slabs the cache finds a slab from the
/// page address through its own page set (<c>_ownPages</c>); in every other configuration each page of each held slab
/// is saved in the backend's side table.</item>
/// <item><c>_allocated</c> sums every slab's <c>Allocated</c>. After <see cref="Dispose"/> nothing is held and every
/// count is zero.</item>
/// </list></para>
/// <para><b>Errors.</b> <see cref="Free"/> rejects with an <see cref="AllocatorException"/>, leaving the cache
/// untouched, any pointer that is not an object this cache handed out and has not taken back:
/// <see cref="AllocError.NotFound"/> when the address is in none of the cache's slabs (foreign memory, another cache's
/// object, null), and <see cref="AllocError.NotAllocated"/> when it is in one of them but is not the start of a live
/// object (interior or misaligned pointer, the slab info area, a double free). After <see cref="Dispose"/>,
/// <see cref="Allocate"/>, <see cref="TryAllocate"/>, <see cref="Free"/> and <see cref="Trim"/> throw
/// <see cref="ObjectDisposedException"/>.</para>
/// <para><b>Use after free.</b> Free-list links live in the first four bytes of freed objects, never in live ones. A
/// use-after-free that overwrites such a link is caught when the link is next followed: the slab's free list is
/// rebuilt from its bitmap, so a live object is never handed out twice.</para>
/// <para><b>Empty slabs.</b> At most one completely free slab is kept for reuse. When a second slab becomes empty,
/// the one kept so far goes back to the backend and the newly emptied one is kept instead; <see cref="Trim"/> and
/// <see cref="Dispose"/> return the kept one as well.</para>
/// <para><b>Threading.</b> An instance is not thread-safe: use it from one thread at a time, or guard it with a
/// lock.</para>
/// </summary>
public sealed unsafe class ObjectCache<T> : IDisposable where T : unmanaged
{
    private readonly ISlabMemoryBackend _backend;
    private readonly nuint _slabSize;
    private readonly nuint _pageSize;
    private readonly nuint _pageMask;
    private readonly ObjectSizeType _sizeType;
    private readonly bool _usesSideTable;
    private readonly nuint _alignment;
    private readonly nuint _stride;
    private readonly uint _objectsPerSlab;
    private readonly nuint _objectBytes;
    private readonly ulong _strideInverse;     // the stride's exact divisor (see ExactDivisor)
    private readonly int _strideShift;
    private readonly nuint _infoOffset;
    private readonly nuint _infoSize;
    private readonly int _bucketShift;
    private readonly ulong _owner;
    private readonly PageMap? _ownPages;

    private SlabBuckets _partial;
    private HeldSlabList _held;
    private SlabInfo* _empty;
    private nuint _slabs;
    private nuint _fullSlabs;
    private nuint _allocated;
    private bool _disposed;

    /// <summary>Creates a cache over pages of <see cref="NativeHeap.Shared"/>: <see cref="ObjectSizeType.Small"/> slabs
    /// of the fewest 4 KiB pages (a power of two) that hold at least 8 objects. The slabs go back to the shared heap on
    /// <see cref="Dispose"/>.</summary>
    public ObjectCache()
        : this(ObjectCacheLayout.DefaultSlabSizeOf<T>(), ObjectCacheLayout.DefaultPageSize, ObjectSizeType.Small,
            PageSlabBackend.Over(NativeHeap.Shared.Allocator))
    {
    }

    /// <summary>Creates an empty cache over <paramref name="backend"/>, which supplies slabs, slab infos and the
    /// page-to-info side table and is not disposed by the cache; no memory is taken from it until the first allocation.
    /// <paramref name="slabSize"/> is the bytes per slab: a positive multiple of <paramref name="pageSize"/>, at most
    /// 4 GiB, large enough for one object (plus the slab info for <see cref="ObjectSizeType.Small"/>).
    /// <paramref name="pageSize"/> is the alignment of slabs and the granularity of the side table: a power of two, at
    /// least the object alignment. <paramref name="sizeType"/> says where slab infos live, and so which backend members
    /// are called (see <see cref="ISlabMemoryBackend"/>). Throws <see cref="ArgumentNullException"/> when
    /// <paramref name="backend"/> is null, and <see cref="ArgumentOutOfRangeException"/>, whose message names the
    /// value, when a size is invalid or <paramref name="sizeType"/> is not defined.</summary>
    public ObjectCache(nuint slabSize, nuint pageSize, ObjectSizeType sizeType, ISlabMemoryBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (sizeType is not (ObjectSizeType.Small or ObjectSizeType.Large))
            throw new ArgumentOutOfRangeException(nameof(sizeType), sizeType,
                $"Object size type {sizeType} is not defined.");

        _alignment = ObjectCacheLayout.ObjectAlignmentOf<T>();
        _stride = ObjectCacheLayout.StrideOf<T>();
        PageSizes.ThrowIfNotPowerOfTwo(pageSize, nameof(pageSize));
        if (pageSize < _alignment)
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize,
                $"Page size {pageSize} is smaller than the alignment {_alignment} of {typeof(T).Name} objects.");
        ObjectCacheLayout.ThrowIfNotPageMultiple(slabSize, pageSize);
        if (slabSize > ObjectCacheLayout.MaximumSlabSize)
            throw new ArgumentOutOfRangeException(nameof(slabSize), slabSize,
                $"Slab size {slabSize} is above the maximum of {ObjectCacheLayout.MaximumSlabSize} bytes.");

        nuint objects = ObjectCacheLayout.ObjectsPerSlab(slabSize, _stride, sizeType);
        if (objects == 0)
        {
            string info = sizeType == ObjectSizeType.Small
                ? $" together with its {SlabInfo.SizeFor(1)}-byte slab info"
                : "";
            throw new ArgumentOutOfRangeException(nameof(slabSize), slabSize,
                $"Slab size {slabSize} cannot hold one {_stride}-byte {typeof(T).Name} object{info}.");
        }

        _backend = backend;
        _slabSize = slabSize;
        _pageSize = pageSize;
        _pageMask = pageSize - 1;
        _sizeType = sizeType;
        _usesSideTable = sizeType == ObjectSizeType.Large || slabSize > pageSize;
        _objectsPerSlab = (uint)objects;
        _objectBytes = objects * _stride;
        (_strideInverse, _strideShift) = ExactDivisor.For(_stride);
        _infoSize = SlabInfo.SizeFor(objects);
        _infoOffset = sizeType == ObjectSizeType.Small
            ? ObjectCacheLayout.SmallInfoOffset(slabSize, objects)
            : 0;
        _bucketShift = SlabBuckets.ShiftFor(objects);
        _owner = SlabInfo.NewOwnerToken();
        _ownPages = _usesSideTable ? null : new PageMap(pageSize);
    }

    /// <summary>Bytes per slab, as given to the constructor.</summary>
    public nuint SlabSize => _slabSize;

    /// <summary>Page size (slab alignment), as given to the constructor.</summary>
    public nuint PageSize => _pageSize;

    /// <summary>Where slab infos live, as given to the constructor.</summary>
    public ObjectSizeType SizeType => _sizeType;

    /// <summary>Alignment of every object handed out: the natural alignment of <typeparamref name="T"/>, at least
    /// 8.</summary>
    public nuint ObjectAlignment => _alignment;

    /// <summary>Exact counts of slabs and objects; all zero (but for the two sizes) after
    /// <see cref="Dispose"/>.</summary>
    public ObjectCacheStatistics Statistics
    {
        get
        {
            nuint empty = _empty != null ? 1u : 0u;
            return new ObjectCacheStatistics(
                ObjectSize: _stride,
                ObjectsPerSlab: _objectsPerSlab,
                Slabs: _slabs,
                FullSlabs: _fullSlabs,
                PartialSlabs: _slabs - _fullSlabs - empty,
                AllocatedObjects: _allocated,
                FreeObjects: _slabs * _objectsPerSlab - _allocated,
                SlabBytes: _slabs * _slabSize);
        }
    }

    /// <summary>Hands out memory for one <typeparamref name="T"/>; its contents are unspecified. Answers a non-null
    /// pointer aligned to <see cref="ObjectAlignment"/>, valid until passed to <see cref="Free"/> or until the cache is
    /// disposed. Throws <see cref="AllocatorException"/> with <see cref="AllocError.NoMemory"/> when a new slab is
    /// needed and the backend has none, and <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Allocate() => AllocateCore(throwOnNoMemory: true);

    /// <summary>Like <see cref="Allocate"/>, but reports a backend out of memory by returning false: answers true when
    /// an object was handed out, with the object in <paramref name="obj"/> (null when the result is false). Throws
    /// <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocate(out T* obj)
    {
        obj = AllocateCore(throwOnNoMemory: false);
        return obj != null;
    }

    /// <summary>Takes back <paramref name="obj"/>, an object handed out by <see cref="Allocate"/> or
    /// <see cref="TryAllocate"/> of this cache and not freed since. Its memory may be reused at once. Throws
    /// <see cref="AllocatorException"/> with <see cref="AllocError.NotFound"/> when <paramref name="obj"/> is in none
    /// of this cache's slabs and with <see cref="AllocError.NotAllocated"/> when it is not the start of a live
    /// object, and <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>; the cache is unchanged in every
    /// case.</summary>
    public void Free(T* obj)
    {
        nuint address = (nuint)obj;
        SlabInfo* slab = FindSlab(address);

        nuint offset = address - (nuint)slab->Base;
        if (offset >= _objectBytes)
            ThrowHelper.CacheNotAllocated<T>(address, "is past the last object of its slab");
        ulong exact = ExactDivisor.Divide(offset, _strideInverse, _strideShift);
        if (exact >= _objectsPerSlab)
            ThrowHelper.CacheNotAllocated<T>(address, "does not start an object");
        uint index = (uint)exact;
        ulong* word = SlabInfo.Bitmap(slab) + (index >> 6);
        ulong bit = 1UL << (int)index;
        if ((*word & bit) == 0)
            ThrowHelper.CacheNotAllocated<T>(address, "is not allocated (a double free?)");

        // Validated: from here on the object is ours again.
        *word &= ~bit;
        *(uint*)obj = slab->FreeHead;
        slab->FreeHead = index;
        uint allocated = --slab->Allocated;
        _allocated--;

        // The slab was full (in no bucket), is now empty (the cached one), or moves down a bucket.
        if (allocated + 1 == _objectsPerSlab)
        {
            _fullSlabs--;
            if (allocated == 0)
                BecameEmpty(slab);
            else
                _partial.Push(slab, Bucket(allocated));
        }
        else if (allocated == 0)
        {
            _partial.Remove(slab, Bucket(1));
            BecameEmpty(slab);
        }
        else
        {
            MoveBucket(slab, allocated + 1, allocated);
        }
    }

    /// <summary>Returns the cached empty slab, if there is one, to the backend now; answers true when a slab was
    /// returned. Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    public bool Trim()
    {
        if (_disposed)
            ThrowHelper.CacheDisposed<T>();
        SlabInfo* empty = _empty;
        if (empty == null)
            return false;
        _empty = null;
        ReleaseSlab(empty);
        return true;
    }

    /// <summary>Returns every slab (and, for <see cref="ObjectSizeType.Large"/>, every slab info) to the backend and
    /// deletes every side-table entry the cache saved. Objects still allocated become invalid. Calling it again does
    /// nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _partial.Clear();
        _empty = null;
        _fullSlabs = 0;
        _allocated = 0;
        SlabInfo* slab = _held.First;
        while (slab != null)
        {
            SlabInfo* next = slab->NextHeld;
            ReleaseSlab(slab);
            slab = next;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(uint allocated) => SlabBuckets.BucketOf(allocated, _bucketShift);

    /// <summary>Moves the partial <paramref name="slab"/> from the bucket of <paramref name="before"/> objects out to
    /// that of <paramref name="after"/>, when the two differ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void MoveBucket(SlabInfo* slab, uint before, uint after)
    {
        int from = Bucket(before), to = Bucket(after);
        if (from != to)
        {
            _partial.Remove(slab, from);
            _partial.Push(slab, to);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private T* AllocateCore(bool throwOnNoMemory)
    {
        SlabInfo* slab;
        if (!_partial.IsEmpty)
            slab = _partial.Fullest;
        else if ((slab = _empty) != null)
            _empty = null;
        else
            return AllocateFromNewSlab(throwOnNoMemory);
        return TakeObject(slab);
    }

    /// <summary>Hands out one object of <paramref name="slab"/>, which has a free one and is partial or just taken
    /// from <see cref="_empty"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private T* TakeObject(SlabInfo* slab)
    {
        uint index = slab->FreeHead;
        bool fromList = index != SlabInfo.NoObject;
        if (!fromList)
            index = slab->NextUnused;
        ulong* word = SlabInfo.Bitmap(slab) + (index >> 6);
        ulong bit = 1UL << (int)index;
        // A use-after-free can overwrite a link: trust none that leads out of the slab or to an object that is out.
        if (index >= _objectsPerSlab || (*word & bit) != 0)
            return TakeObjectAfterRepair(slab);

        byte* obj = slab->Base + index * _stride;
        if (fromList)
            slab->FreeHead = *(uint*)obj;
        else
            slab->NextUnused = index + 1;
        *word |= bit;
        uint allocated = ++slab->Allocated;
        _allocated++;

        // The slab is now full (out of the buckets; a one-object slab never entered one), newly partial, or moves up.
        if (allocated == _objectsPerSlab)
        {
            if (allocated > 1)
                _partial.Remove(slab, Bucket(allocated - 1));
            _fullSlabs++;
        }
        else if (allocated == 1)
        {
            _partial.Push(slab, Bucket(1));
        }
        else
        {
            MoveBucket(slab, allocated - 1, allocated);
        }
        return (T*)obj;
    }

    /// <summary>Maps <paramref name="address"/> to the info of the held slab containing it, or throws
    /// <see cref="AllocatorException"/> with <see cref="AllocError.NotFound"/> (<see cref="ObjectDisposedException"/>
    /// after <see cref="Dispose"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private SlabInfo* FindSlab(nuint address)
    {
        if (_disposed)
            ThrowHelper.CacheDisposed<T>();
        nuint page = address & ~_pageMask;
        if (!_usesSideTable)
        {
            // The slab is the page and its info sits at a fixed offset, but only pages we hold may be read.
            if (!_ownPages!.Contains(page))
                ThrowHelper.CacheNotFound<T>(address);
            return (SlabInfo*)(page + _infoOffset);
        }
        if (address == 0)
            ThrowHelper.CacheNotFound<T>(address);
        SlabInfo* slab = (SlabInfo*)_backend.GetSlabInfo(page);
        if (slab == null || slab->Owner != _owner)
            ThrowHelper.CacheNotFound<T>(address);
        return slab;
    }

    /// <summary>Makes <paramref name="slab"/>, just emptied and in no bucket, the cached empty slab, returning the
    /// previous one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BecameEmpty(SlabInfo* slab)
    {
        slab->FreeHead = SlabInfo.NoObject;
        slab->NextUnused = 0;
        SlabInfo* previous = _empty;
        _empty = slab;
        if (previous != null)
            ReleaseSlab(previous);
    }

    /// <summary>Rebuilds the free list of <paramref name="slab"/> from its bitmap, after a link written over by the
    /// user was caught, and hands out an object from the repaired list.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private T* TakeObjectAfterRepair(SlabInfo* slab)
    {
        uint used = Math.Min(slab->NextUnused, _objectsPerSlab);
        ulong* bitmap = SlabInfo.Bitmap(slab);
        uint head = SlabInfo.NoObject;
        for (uint i = used; i-- > 0;)
        {
            if ((bitmap[i >> 6] & (1UL << (int)i)) == 0)
            {
                *(uint*)(slab->Base + i * _stride) = head;
                head = i;
            }
        }
        slab->FreeHead = head;
        slab->NextUnused = used;
        if (head == SlabInfo.NoObject && used == _objectsPerSlab)
            ThrowHelper.CacheBadSlabInfo<T>((nuint)slab->Base);
        return TakeObject(slab);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private T* AllocateFromNewSlab(bool throwOnNoMemory)
    {
        if (_disposed)
            ThrowHelper.CacheDisposed<T>();
        SlabInfo* slab = ObtainSlab();
        if (slab == null)
        {
            if (throwOnNoMemory)
                ThrowHelper.CacheNoMemory<T>(_slabSize, _pageSize,
                    infoFromBackend: _sizeType == ObjectSizeType.Large);
            return null;
        }
        return TakeObject(slab);
    }

    /// <summary>Gets a slab (and its info) from the backend, records it in the side table and in <see cref="_held"/>,
    /// and returns its empty info; null when the backend has no memory. On any failure everything obtained so far goes
    /// back to the backend.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private SlabInfo* ObtainSlab()
    {
        byte* memory = (byte*)_backend.AllocateSlab(_slabSize, _pageSize);
        if (memory == null)
            return null;
        if (((nuint)memory & _pageMask) != 0)
        {
            _backend.FreeSlab(memory, _slabSize, _pageSize);
            ThrowHelper.BadBackend(
                $"AllocateSlab returned 0x{(nuint)memory:x}, which is not aligned to the page size {_pageSize}");
        }

        SlabInfo* info;
        if (_sizeType == ObjectSizeType.Small)
        {
            info = (SlabInfo*)(memory + _infoOffset);
        }
        else
        {
            info = (SlabInfo*)_backend.AllocateSlabInfo(_infoSize);
            if (info == null)
            {
                _backend.FreeSlab(memory, _slabSize, _pageSize);
                return null;
            }
            if (((nuint)info & (ObjectCacheLayout.MinimumAlignment - 1)) != 0)
            {
                FreeSlabMemory(memory, info);
                ThrowHelper.BadBackend(
                    $"AllocateSlabInfo returned 0x{(nuint)info:x}, which is not aligned to 8");
            }
        }
        SlabInfo.Initialize(info, memory, _owner, _objectsPerSlab);

        if (_usesSideTable)
        {
            nuint saved = 0;
            try
            {
                for (; saved < _slabSize; saved += _pageSize)
                    _backend.SaveSlabInfo((nuint)memory + saved, info);
            }
            catch
            {
                // Undo the pages saved so far, give everything back, and let the backend's exception through.
                DeleteSavedPages(memory, saved);
                FreeSlabMemory(memory, info);
                throw;
            }
        }
        else
        {
            _ownPages!.Set((nuint)memory, (nint)info);
        }

        _held.Add(info);
        _slabs++;
        return info;
    }

    /// <summary>Forgets <paramref name="slab"/> (in no bucket and not <see cref="_empty"/>) and returns it to the
    /// backend.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseSlab(SlabInfo* slab)
    {
        byte* memory = slab->Base;
        _held.Remove(slab);
        _slabs--;
        if (_usesSideTable)
        {
            DeleteSavedPages(memory, _slabSize);
        }
        else
        {
            _ownPages!.Remove((nuint)memory);
        }
        FreeSlabMemory(memory, slab);
    }

    /// <summary>Deletes the side-table entries of the pages in the first <paramref name="bytes"/> of the slab at
    /// <paramref name="memory"/>.</summary>
    private void DeleteSavedPages(byte* memory, nuint bytes)
    {
        for (nuint page = 0; page < bytes; page += _pageSize)
            _backend.DeleteSlabInfo((nuint)memory + page);
    }

    /// <summary>Gives the slab at <paramref name="memory"/> back to the backend, after its separate
    /// <paramref name="info"/> for <see cref="ObjectSizeType.Large"/>.</summary>
    private void FreeSlabMemory(byte* memory, SlabInfo* info)
    {
        if (_sizeType == ObjectSizeType.Large)
            _backend.FreeSlabInfo(info, _infoSize);
        _backend.FreeSlab(memory, _slabSize, _pageSize);
    }
}
