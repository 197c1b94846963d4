using System.Runtime.InteropServices;
using BuddySlab.Os;
using BuddySlab.Slab;

namespace BuddySlab.Caches;

/// <summary>
/// One thread's magazines and page-run stacks for one allocator: per size class a <i>loaded</i> magazine (the
/// fast paths pop and push it) and a <i>previous</i> one (swapped in when the loaded one runs empty or full,
/// so a thread alternating around a boundary does not visit the depot each time).
/// <para>Only its thread changes it, except while another thread has revoked it (see <see cref="ThreadCacheBlock"/>:
/// to flush a cache its thread left idle, to reclaim memory, after the thread exited, or when the allocator is
/// disposed). Other threads read it, to recognise a second free of an object sitting in it (see
/// <see cref="ExchangeLock"/>). What the fast paths read lives in its native <see cref="Block"/>.</para>
/// </summary>
internal sealed unsafe class ThreadCache
{
    public IThreadCacheOwner? Owner;         // null once the allocator is disposed (the block's token is 0 then too)
    public readonly ThreadCacheBlock* Block; // the loaded magazines, the run stacks and the owner's token
    public readonly Magazine** Previous;
    public readonly int Classes;
    public readonly Thread Thread;           // the owning thread: the allocator takes the cache over once it is dead
    public readonly MetadataArena Arena;     // where the magazines, the previous array and the run stacks come from
    private int _blockReleases;              // 2 once both the thread and the allocator let go of the block
    /// <summary>Held by the owning thread while it swaps, trades or destroys its loaded and previous magazines, and by
    /// a double-free check on any thread while it reads them. The fast paths' pushes
    /// and pops never take it: a reader sees their counts racily, but always in live memory.</summary>
    public BackoffLock ExchangeLock;

    public ThreadCache(IThreadCacheOwner owner, nint token, SizeClassTable table)
    {
        Owner = owner;
        Thread = Thread.CurrentThread;
        Classes = table.Classes.Length;
        Block = (ThreadCacheBlock*)NativeMemory.AllocZeroed((nuint)sizeof(ThreadCacheBlock));
        Block->Cache = GCHandle.ToIntPtr(GCHandle.Alloc(this, GCHandleType.Weak));
        Arena = owner.Arena;
        Block->Runs = RunStack.CreateSet(Arena);
        Previous = (Magazine**)Arena.Allocate(PreviousBytes);
        for (int c = 0; c < Classes; c++)
        {
            int capacity = Magazine.CapacityFor(table.Classes[c].ObjectSize);
            Block->SetLoaded(c, Magazine.Create(Arena, capacity, owner.Cookie));
            Previous[c] = Magazine.Create(Arena, capacity, owner.Cookie);
        }
        Block->Owner = token;
    }

    /// <summary>Makes <paramref name="loaded"/> the loaded magazine of class <paramref name="cls"/> and
    /// <paramref name="previous"/> the previous one (under <see cref="ExchangeLock"/>); answers the loaded one.</summary>
    public Magazine* Load(int cls, Magazine* loaded, Magazine* previous)
    {
        Block->SetLoaded(cls, loaded);
        Previous[cls] = previous;
        return loaded;
    }

    /// <summary>Free page runs of 1..<see cref="RunStack.MaxPages"/> pages, by length - 1.</summary>
    public RunStack* Runs => Block->Runs;

    /// <summary>Bytes of objects in this cache's magazines and of runs on its stacks, read under
    /// <see cref="ExchangeLock"/> (the stacks' counts racily: they change on the owner's fast paths).</summary>
    public long CachedBytes(int pageSize)
    {
        long bytes = 0;
        ExchangeLock.Enter();
        if (Block->Runs != null)
        {
            for (int c = 0; c < Classes; c++)
                bytes += ((long)Block->LoadedOf(c)->Count + Previous[c]->Count) * SizeClassTable.Sizes[c];
            for (int pages = 1; pages <= RunStack.MaxPages; pages++)
                bytes += (long)Volatile.Read(ref Block->Runs[pages - 1].Count) * pages * pageSize;
        }
        ExchangeLock.Exit();
        return bytes;
    }

    /// <summary>True when <paramref name="address"/> sits in one of this cache's magazines of class <paramref name="cls"/>
    /// (a double-free check: cold).</summary>
    public bool Holds(int cls, nuint address, nuint mark) =>
        Magazine.Contains(Block->LoadedOf(cls), address, mark) || Magazine.Contains(Previous[cls], address, mark);

    /// <summary><see cref="Holds"/> from any thread, under <see cref="ExchangeLock"/>.</summary>
    public bool HoldsLocked(int cls, nuint address, nuint mark)
    {
        ExchangeLock.Enter();
        bool held = Holds(cls, address, mark);
        ExchangeLock.Exit();
        return held;
    }

    /// <summary>Frees the magazines themselves (their objects must have been flushed, or the memory is going away) and
    /// lets go of the block for the allocator; a fast path that still reaches it misses.</summary>
    public void Destroy()
    {
        Volatile.Write(ref Block->Destroyed, 1);
        Block->Owner = 0;
        for (int c = 0; c < Classes; c++)
        {
            Magazine.Destroy(Arena, Block->LoadedOf(c));
            Magazine.Destroy(Arena, Previous[c]);
        }
        Arena.Free(Previous, PreviousBytes);
        RunStack.DestroySet(Arena, Block->Runs);
        Block->Runs = null;
        ReleaseBlock();
    }

    private nuint PreviousBytes => (nuint)(Classes * sizeof(Magazine*));

    /// <summary>True once both users let go and the block is freed (for tests).</summary>
    internal bool BlockFreed => Volatile.Read(ref _blockReleases) == 2;

    /// <summary>Called once by the allocator (from <see cref="Destroy"/>) and once when the thread has exited (from the
    /// finalizer of its <see cref="ThreadCacheSet"/>); the second call frees the block.</summary>
    public void ReleaseBlock()
    {
        if (Interlocked.Increment(ref _blockReleases) != 2) return;
        GCHandle.FromIntPtr(Block->Cache).Free();
        NativeMemory.Free(Block);
    }
}
