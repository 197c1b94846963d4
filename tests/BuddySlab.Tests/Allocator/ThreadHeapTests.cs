using System.Collections.Concurrent;

namespace BuddySlab.Tests.Allocator;

/// <summary>The thread-bound handle: the same heap and magazines, usable only on its own thread.</summary>
public unsafe class ThreadHeapTests : IDisposable
{
    private readonly GlobalHarness _h = new(bytes: 64 << 20);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void EachThreadGetsOneHandleOfItsOwn()
    {
        ThreadHeap mine = A.ForCurrentThread();
        Assert.Same(mine, A.ForCurrentThread());
        Assert.Same(A, mine.Allocator);
        Assert.Equal(Environment.CurrentManagedThreadId, mine.ThreadId);
        Assert.True(mine.IsOwnedByCurrentThread);

        ThreadHeap? theirs = null;
        bool ownedThere = true;
        var t = new Thread(() => { theirs = A.ForCurrentThread(); ownedThere = mine.IsOwnedByCurrentThread; theirs.FlushThreadCache(); });
        t.Start();
        t.Join();
        Assert.NotNull(theirs);
        Assert.NotSame(mine, theirs);
        Assert.False(ownedThere);
        Assert.False(theirs.IsOwnedByCurrentThread);
    }

    [Fact]
    public void EverySizeAndAlignmentRoundTripsAndAllPagesComeBack()
    {
        ThreadHeap heap = A.ForCurrentThread();
        var live = new List<(nint P, nuint Size, nuint Alignment, byte Tag)>();
        byte tag = 1;
        for (nuint size = 0; size <= 5000; size += size < 256 ? 1u : 37u)
        {
            for (nuint alignment = 1; alignment <= 8192; alignment <<= 1)
            {
                byte* p = (byte*)(alignment == 1 ? heap.Allocate(size) : heap.Allocate(size, alignment));
                Assert.True(p != null);
                Assert.Equal((nuint)0, (nuint)p % alignment);
                Assert.True(heap.UsableSize(p) >= size);
                new Span<byte>(p, (int)size).Fill(tag);
                live.Add(((nint)p, size, alignment, tag));
                tag = (byte)(tag % 250 + 1);
            }
        }
        Assert.Equal(live.Count, live.Select(x => x.P).Distinct().Count());
        for (int i = 0; i < live.Count; i++)
        {
            var (p, size, alignment, t) = live[i];
            Assert.True(new ReadOnlySpan<byte>((void*)p, (int)size).IndexOfAnyExcept(t) < 0, $"block of {size} bytes overwritten");
            if (alignment == 1) heap.Free((void*)p, size, size >= 16 ? 16u : 8u);
            else if (i % 2 == 0) heap.Free((void*)p, size, alignment);
            else heap.Free((void*)p);
        }
        heap.FlushThreadCache();
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void TheHandleAndTheAllocatorShareTheThreadsMagazines()
    {
        ThreadHeap heap = A.ForCurrentThread();
        void* p = heap.Allocate(64);
        A.Free(p);
        Assert.Equal((nint)p, (nint)heap.Allocate(64));     // the object the allocator's free pushed, popped by the handle
        heap.Free(p, 64, 16);
        Assert.Equal((nint)p, (nint)A.Allocate(64));
        void* q = heap.Reallocate(p, 4000);                 // moves to pages
        Assert.Equal((nuint)4096, heap.UsableSize(q));
        heap.Free(q);
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void PagesThroughTheHandleShareTheThreadsRunStacksAndAreCheckedAsTheAllocatorsAre()
    {
        ThreadHeap heap = A.ForCurrentThread();
        nuint a = heap.AllocatePages(4, 4096);
        Assert.Equal((nuint)0, a & 4095);
        A.FreePages(a, 4);
        Assert.Equal(a, heap.AllocatePages(4, 4096));          // parked by the allocator, popped by the handle
        heap.FreePages(a, 4);
        Assert.Equal(a, A.AllocatePages(4, 4096));             // and the other way round
        heap.FreePages(a, 4);
        nuint allocated = A.AllocatedBytes;
        Assert.Equal(AllocError.NotAllocated, Assert.Throws<AllocatorException>(() => heap.FreePages(a, 4)).Error);
        Assert.Throws<AllocatorException>(() => heap.FreePages(a + 4096, 1));
        Assert.Equal(allocated, A.AllocatedBytes);
        Assert.True(heap.TryAllocatePages(40, 65536, out nuint big));    // past the stacks: the buddy, aligned
        Assert.Equal((nuint)0, big & 65535);
        Assert.False(heap.TryAllocatePages(1 << 20, 4096, out nuint none));   // 4 GiB: more than the heap can ever hold
        Assert.Equal((nuint)0, none);
        heap.FreePages(big, 40);
        Assert.Equal(a, heap.AllocatePages(4, 4096));
        heap.FreePages(a, 4);
        heap.FlushThreadCache();
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ADoubleFreeThroughTheHandleIsCaughtAndChangesNothing()
    {
        ThreadHeap heap = A.ForCurrentThread();
        void* p = heap.Allocate(48);
        void* q = heap.Allocate(48);
        heap.Free(p);
        Assert.Contains("double free", Assert.Throws<AllocatorException>(() => heap.Free(p)).Message);
        Assert.Throws<AllocatorException>(() => heap.Free(p, 48, 16));
        Assert.Throws<AllocatorException>(() => A.Free(p));
        Assert.Throws<AllocatorException>(() => heap.UsableSize(p));
        Assert.Throws<AllocatorException>(() => heap.Reallocate(p, 10));
        Assert.Equal((nint)p, (nint)heap.Allocate(48));
        Assert.NotEqual((nint)p, (nint)heap.Allocate(48));
        heap.Free(q);
    }

    [Fact]
    public void AnotherThreadCannotUseTheHandleAndTouchesNothing()
    {
        ThreadHeap heap = A.ForCurrentThread();
        void* kept = heap.Allocate(64);
        void* freed = heap.Allocate(64);
        heap.Free(freed);                                   // sits on top of this thread's magazine
        nuint run = heap.AllocatePages(3, 4096);
        nuint parked = heap.AllocatePages(3, 4096);
        heap.FreePages(parked, 3);                          // sits on this thread's stack of 3-page runs
        nuint allocated = A.AllocatedBytes;
        var errors = new ConcurrentBag<AllocatorException>();
        var t = new Thread(() =>
        {
            void Try(Action a)
            {
                try { a(); }
                catch (AllocatorException e) { errors.Add(e); }
            }
            Try(() => heap.Allocate(64));
            Try(() => heap.Allocate(64, 64));
            Try(() => heap.TryAllocate(100, 16, out _));
            Try(() => heap.Free(kept));
            Try(() => heap.Free(kept, 64, 16));
            Try(() => heap.Reallocate(kept, 10));
            Try(() => heap.UsableSize(kept));
            Try(() => heap.FlushThreadCache());
            Try(() => heap.AllocatePages(1, 4096));
            Try(() => heap.TryAllocatePages(2, 4096, out _));
            Try(() => heap.FreePages(run, 3));
        });
        t.Start();
        t.Join();
        Assert.Equal(11, errors.Count);
        Assert.All(errors, e =>
        {
            Assert.Equal(AllocError.InvalidParam, e.Error);
            Assert.Contains($"belongs to thread {heap.ThreadId}", e.Message);
        });
        Assert.Equal(allocated, A.AllocatedBytes);
        Assert.Equal((nint)freed, (nint)heap.Allocate(64));   // the magazine was not touched
        Assert.Equal(parked, heap.AllocatePages(3, 4096));    // nor the stack of runs
        heap.FreePages(parked, 3);
        heap.FreePages(run, 3);
        heap.Free(freed);
        heap.Free(kept);
        heap.FlushThreadCache();
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void AnExitedThreadsMagazinesComeBackAtTheNextTrimEvenWhileItsHandleIsReachable()
    {
        ThreadHeap? handle = null;
        var t = new Thread(() =>
        {
            handle = A.ForCurrentThread();
            var objects = Enumerable.Range(0, 20).Select(_ => (nint)handle.Allocate(200)).ToList();
            foreach (nint p in objects) handle.Free((void*)p);   // all of them stay in the thread's magazines
        });
        t.Start();
        t.Join();
        Assert.Throws<AllocatorException>(() => handle!.Allocate(200));   // this thread is not the owner
        A.Trim();                                           // the thread is dead: its cache is taken over, no GC needed
        Assert.Equal((nuint)0, A.AllocatedBytes);
        Assert.Throws<AllocatorException>(() => handle!.Allocate(200));   // and the handle stays refused
        GC.KeepAlive(handle);
    }

    [Fact]
    public void AHandleNeedsThreadCachesAndALiveHeap()
    {
        using (var kernel = new GlobalHarness(threadCaches: false))
            Assert.Throws<InvalidOperationException>(() => kernel.Allocator.ForCurrentThread());

        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 << 20 });
        ThreadHeap handle = heap.ForCurrentThread();
        void* p = handle.Allocate(64);
        handle.Free(p);
        heap.Dispose();
        Assert.Throws<ObjectDisposedException>(() => handle.Allocate(64));
        Assert.Throws<ObjectDisposedException>(() => handle.Free(p));
        Assert.Throws<ObjectDisposedException>(() => handle.Free(p, 64, 16));
    }

    [Fact]
    public void AMillionMixedOperationsThroughTheHandleAllocateNoManagedBytes()
    {
        using var native = new NativeHeap(new NativeHeapOptions { InitialBytes = 128 << 20 });
        ThreadHeap heap = native.ForCurrentThread();
        const int Slots = 2048;
        var live = new nint[Slots];
        var liveSize = new nuint[Slots];
        var sizes = new nuint[Slots];
        var rng = new Random(17);
        for (int i = 0; i < Slots; i++) sizes[i] = (nuint)(rng.Next(20) == 0 ? rng.Next(2049, 20000) : rng.Next(0, 2049));

        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                int slot = (int)((uint)(i * 2654435761u) % Slots);
                if (live[slot] == 0)
                {
                    live[slot] = (nint)heap.Allocate(sizes[slot]);
                    liveSize[slot] = sizes[slot];
                }
                else if ((i & 7) == 0)
                {
                    nuint size = sizes[(slot + i) % Slots];
                    live[slot] = (nint)heap.Reallocate((void*)live[slot], size);
                    liveSize[slot] = size;
                }
                else
                {
                    if ((i & 1) == 0) heap.Free((void*)live[slot]);
                    else heap.Free((void*)live[slot], liveSize[slot], liveSize[slot] >= 16 ? 16u : 8u);
                    live[slot] = 0;
                }
            }
        }

        Run(100_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(1_000_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        foreach (nint p in live) if (p != 0) heap.Free((void*)p);
    }

    [Fact]
    public void ThreadsWithHandlesExchangeObjectsAndEveryPageComesBack()
    {
        const int Threads = 4, Rounds = 40_000;
        var mailboxes = Enumerable.Range(0, Threads).Select(_ => new ConcurrentQueue<(nint P, int Size, byte Tag)>()).ToArray();
        var failures = new ConcurrentBag<Exception>();
        var workers = Enumerable.Range(0, Threads).Select(id => new Thread(() =>
        {
            try
            {
                ThreadHeap heap = A.ForCurrentThread();
                var rng = new Random(100 + id);
                for (int i = 0; i < Rounds; i++)
                {
                    int size = rng.Next(1, rng.Next(8) == 0 ? 6000 : 600);
                    byte tag = (byte)rng.Next(1, 255);
                    byte* p = (byte*)heap.Allocate((nuint)size);
                    new Span<byte>(p, size).Fill(tag);
                    mailboxes[rng.Next(Threads)].Enqueue(((nint)p, size, tag));
                    if (mailboxes[id].TryDequeue(out var item)) Release(heap, item);
                }
                heap.FlushThreadCache();
            }
            catch (Exception e) { failures.Add(e); }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
        ThreadHeap mine = A.ForCurrentThread();
        foreach (var box in mailboxes)
            while (box.TryDequeue(out var item)) Release(mine, item);
        mine.FlushThreadCache();
        ExitedThreads.RecoverCachesAndTrim(A);
        _h.AssertAllPagesBack();

        static void Release(ThreadHeap heap, (nint P, int Size, byte Tag) item)
        {
            if (new ReadOnlySpan<byte>((void*)item.P, item.Size).IndexOfAnyExcept(item.Tag) >= 0)
                throw new InvalidOperationException($"a block of {item.Size} bytes was overwritten");
            if ((item.Tag & 1) == 0) heap.Free((void*)item.P);
            else heap.Free((void*)item.P, (nuint)item.Size, item.Size >= 16 ? 16u : 8u);
        }
    }

    [Fact]
    public void ACallThroughTheBlockOfAThreadThatExitedIsRefused()
    {
        // What a new thread on a dead thread's stack would do with that thread's handle (the stack check cannot tell):
        // the block the handle passes was taken over and marked, so every entry point refuses it and touches nothing.
        var cache = new ThreadCache(A, A.Token, SizeClassTable.For(4096));
        Volatile.Write(ref cache.Block->ThreadExited, 1);
        cache.Destroy();                                    // as the allocator does when it takes the cache over
        nuint before = A.AllocatedBytes;
        foreach (Action call in new Action[]
        {
            () => A.AllocateCore(64, cache.Block),
            () => A.AllocateCore(10_000, cache.Block),
            () => A.TryAllocateCore(64, 64, cache.Block, out _),
            () => A.AllocatePagesCore(2, 4096, cache.Block),
        })
        {
            var e = Assert.Throws<AllocatorException>(call);
            Assert.Equal(AllocError.InvalidParam, e.Error);
            Assert.Contains("exited", e.Message);
        }
        Assert.Equal(before, A.AllocatedBytes);
        cache.ReleaseBlock();
    }
}
