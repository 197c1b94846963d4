using System.Runtime.CompilerServices;
using BuddySlab.Diagnostics;
using BuddySlab.Caches;
using BuddySlab.Os;

namespace BuddySlab;

/// <summary>
/// One thread's handle on a <see cref="GlobalAllocator"/> (or a <see cref="NativeHeap"/>), from
/// <see cref="GlobalAllocator.ForCurrentThread"/>: the same allocator, reached without the thread-static lookup
/// every call on the allocator itself makes to find the thread's magazines. On Linux that lookup is a call into the
/// runtime's TLS resolver on each allocation and each free; a program that keeps its handle in a local or a field
/// of a per-thread object skips it (the idea of mimalloc's <c>mi_heap_t</c>).
/// <para><b>Invariants.</b> The handle owns no memory of its own: it points at the thread's magazines, the very ones
/// the allocator's own calls on that thread use, so the two can be mixed freely, and a block may be freed by any
/// thread through any of them. It may be <i>called</i> only on the thread that asked for it: every call first checks
/// that the caller's stack frame lies inside that thread's stack range (two compares; no two live threads share a
/// stack) and a call from any other thread throws <see cref="AllocatorException"/> without touching anything. While
/// the handle is reachable the thread's magazines are not handed back to the allocator, even after the thread
/// exits; they go back once the handle is unreachable too.</para>
/// </summary>
public sealed unsafe class ThreadHeap : INativeAllocator
{
    private readonly GlobalAllocator _owner;
    private readonly ThreadCache _cache;
    private readonly ThreadCacheBlock* _block;         // the cache's fast-path half, one load closer than through _cache
    private readonly ThreadCacheSet _threadCaches;     // held so the magazines are never orphaned while the handle lives
    private readonly nuint _stackLow;
    private readonly nuint _stackBytes;                // 0 when the OS did not say: every call then compares thread ids
    private readonly int _threadId;

    internal ThreadHeap(GlobalAllocator owner, ThreadCache cache, ThreadCacheSet threadCaches)
    {
        _owner = owner;
        _cache = cache;
        _block = cache.Block;                          // lives while _threadCaches does (see ThreadCacheBlock)
        _threadCaches = threadCaches;
        (_stackLow, _stackBytes) = ThreadStack.Current();
        _threadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>The allocator this handle allocates from.</summary>
    public GlobalAllocator Allocator => _owner;

    /// <summary>The managed id of the thread this handle belongs to.</summary>
    public int ThreadId => _threadId;

    /// <summary>True when the calling thread may use this handle.</summary>
    public bool IsOwnedByCurrentThread
    {
        get
        {
            byte marker = 0;
            return (nuint)(&marker) - _stackLow < _stackBytes || Environment.CurrentManagedThreadId == _threadId;
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size) => _owner.AllocateCore(size, Block());

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size, nuint alignment)
    {
        if (!_owner.TryAllocateCore(size, alignment, Block(), out void* pointer)) ThrowHelper.NoMemory(size, alignment);
        return pointer;
    }

    /// <inheritdoc />
    public bool TryAllocate(nuint size, nuint alignment, out void* pointer) => _owner.TryAllocateCore(size, alignment, Block(), out pointer);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer) => _owner.FreeCore(pointer, Block());

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* pointer, nuint size, nuint alignment) => _owner.FreeCore(pointer, size, alignment, Block());

    /// <inheritdoc />
    public void* Reallocate(void* pointer, nuint newSize) => _owner.ReallocateCore(pointer, newSize, Block());

    /// <inheritdoc />
    public nuint UsableSize(void* pointer) => _owner.UsableSizeCore(pointer, Block());

    /// <summary>Allocates <paramref name="count"/> whole pages aligned to <paramref name="alignment"/>, as
    /// <see cref="GlobalAllocator.AllocatePages"/> does: runs of up to 16 pages come from this thread's stacks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nuint AllocatePages(nuint count, nuint alignment) => _owner.AllocatePagesCore(count, alignment, Block());

    /// <summary>As <see cref="AllocatePages"/>, answering <see langword="false"/> (and zero) when out of memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocatePages(nuint count, nuint alignment, out nuint address) => _owner.TryAllocatePagesCore(count, alignment, Block(), out address);

    /// <summary>Frees pages from any <c>AllocatePages</c> of the same allocator; <paramref name="count"/> must be the allocation's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreePages(nuint address, nuint count) => _owner.FreePagesCore(address, count, Block());

    /// <summary>Returns the objects in this thread's magazines to the slabs (as <see cref="GlobalAllocator.FlushThreadCache()"/>).</summary>
    public void FlushThreadCache()
    {
        CheckThread();
        _owner.FlushThreadCacheOf(_block);
    }

    /// <summary>The fast-path half of the thread's magazines, once the caller is known to be the owning thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ThreadCacheBlock* Block()
    {
        CheckThread();
        return _block;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckThread()
    {
        byte marker = 0;
        if ((nuint)(&marker) - _stackLow >= _stackBytes) CheckThreadSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckThreadSlow()
    {
        int current = Environment.CurrentManagedThreadId;
        if (current != _threadId)
            ThrowHelper.Throw(AllocError.InvalidParam, $"This ThreadHeap belongs to thread {_threadId} and was used on thread {current}; each thread takes its own with ForCurrentThread().");
    }
}
