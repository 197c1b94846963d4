using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// One thread's magazines for one <see cref="GlobalAllocator"/>: per size class a <i>loaded</i> magazine (the
/// fast paths pop and push it) and a <i>previous</i> one (swapped in when the loaded one runs empty or full,
/// so a thread alternating around a boundary does not visit the depot each time).
/// <para>Only its thread changes it, except after the thread died (see <see cref="ThreadCacheSet"/>) or when
/// the allocator is disposed, when the allocator takes it over. Other threads only read it, to recognise a second
/// free of an object sitting in it (see <see cref="ExchangeLock"/>).</para>
/// </summary>
internal sealed unsafe class ThreadCache
{
    public GlobalAllocator? Owner;           // null once the allocator is disposed: the fast paths then miss
    public MagazineSlots Loaded;             // inline, so the fast paths reach a magazine in one load from the cache
    public readonly Magazine** Previous;
    public readonly RunStack* Runs;          // free page runs of 1..RunStack.MaxPages pages, by length - 1
    public readonly int Classes;
    public long NextRunReap;                 // when the thread's own slow paths next reap its run stacks (tick count)
    /// <summary>Held by the owning thread while it swaps, trades or destroys magazines of <see cref="Loaded"/> and
    /// <see cref="Previous"/>, and by a double-free check on any thread while it reads them. The fast paths' pushes
    /// and pops never take it: a reader sees their counts racily, but always in live memory.</summary>
    public BackoffLock ExchangeLock;

    public ThreadCache(GlobalAllocator owner, SizeClassTable table)
    {
        Owner = owner;
        Classes = table.Classes.Length;
        Previous = (Magazine**)NativeMemory.Alloc((nuint)(Classes * sizeof(Magazine*)));
        Runs = RunStack.CreateSet();
        for (int c = 0; c < Classes; c++)
        {
            int capacity = Magazine.CapacityFor(table.Classes[c].ObjectSize);
            Loaded.Set(c, Magazine.Create(capacity));
            Previous[c] = Magazine.Create(capacity);
        }
    }

    /// <summary>True when <paramref name="address"/> sits in one of this cache's magazines of class <paramref name="cls"/>
    /// (a double-free check: cold).</summary>
    public bool Holds(int cls, nuint address) => Magazine.Contains(Loaded.Get(cls), address) || Magazine.Contains(Previous[cls], address);

    /// <summary><see cref="Holds"/> from any thread, under <see cref="ExchangeLock"/>.</summary>
    public bool HoldsLocked(int cls, nuint address)
    {
        ExchangeLock.Enter();
        bool held = Holds(cls, address);
        ExchangeLock.Exit();
        return held;
    }

    /// <summary>Frees the magazines themselves (their objects must have been flushed, or the memory is going away).</summary>
    public void Destroy()
    {
        for (int c = 0; c < Classes; c++)
        {
            Magazine.Destroy(Loaded.Get(c));
            Magazine.Destroy(Previous[c]);
        }
        NativeMemory.Free(Previous);
        RunStack.DestroySet(Runs);
    }
}

/// <summary>
/// The thread caches of one thread, one per allocator it used. When the thread exits, its thread-static
/// reference dies and the finalizer hands each cache to its allocator as an orphan, to be flushed there.
/// </summary>
internal sealed class ThreadCacheSet
{
    public readonly List<ThreadCache> Caches = [];
    public readonly List<ThreadHeap> Handles = [];     // the thread's handles; kept here, never in a cache the allocator lists, so the set stays collectable

    ~ThreadCacheSet()
    {
        foreach (ThreadCache cache in Caches) cache.Owner?.Orphan(cache);
    }
}

/// <summary>One magazine pointer per size class, stored inline in its <see cref="ThreadCache"/>. Indexed without a
/// bounds check: callers pass a class index of the table.</summary>
[InlineArray(SizeClassTable.ClassCount)]
internal unsafe struct MagazineSlots
{
    private nint _first;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Magazine* Get(int cls) => (Magazine*)Unsafe.Add(ref _first, cls);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int cls, Magazine* magazine) => Unsafe.Add(ref _first, cls) = (nint)magazine;
}
