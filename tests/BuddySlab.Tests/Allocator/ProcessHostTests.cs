using System.Runtime.InteropServices;
using BuddySlab.Buddy;

namespace BuddySlab.Tests.Allocator;

/// <summary>What a host serving a whole process relies on: <c>Owns</c>, the <c>Try</c> calls that answer their error and
/// leave the heap as it was, <c>ReleaseThreadCache</c> for an exiting thread, the fork locks, and the caches' metadata
/// living on the heap's own pages and going back when no cache uses it.</summary>
public unsafe class ProcessHostTests
{
    private const nuint MiB = 1 << 20;

    [Fact]
    public void OwnsTellsTheHeapsAddressesFromEveryOtherAndNeverThrows()
    {
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 * MiB });
        GlobalAllocator a = heap.Allocator;
        void* small = heap.Allocate(24), large = heap.Allocate(3 * MiB);
        Assert.True(heap.Owns(small));
        Assert.True(heap.Owns(large));
        Assert.True(heap.Owns((byte*)large + 3 * MiB - 1));             // interior: still the heap's region
        ManagedSection s = a.GetSection(0);
        Assert.True(a.Owns((void*)s.Start));
        void* foreign = NativeMemory.Alloc(64);
        int local;
        Assert.False(heap.Owns(foreign));
        Assert.False(heap.Owns(&local));
        Assert.False(heap.Owns(null));
        NativeMemory.Free(foreign);
        heap.Free(small);
        Assert.True(heap.Owns(small));                                  // freed, yet in the region
        heap.Dispose();
        Assert.False(heap.Owns(large));                                 // a disposed heap owns nothing
    }

    [Fact]
    public void TryFreeAnswersEachBadFreeWithItsErrorAndTheHeapStaysIntact()
    {
        using var h = new GlobalHarness();
        GlobalAllocator a = h.Allocator;
        byte* p = (byte*)a.Allocate(100);
        byte* q = (byte*)a.Allocate(200_000);
        Assert.True(a.TryFree(p, out AllocError error));
        Assert.Equal(default, error);
        Assert.False(a.TryFree(p, out error));                          // double free
        Assert.Equal(AllocError.NotAllocated, error);
        Assert.False(a.TryFree(q + 4096, out error));                   // interior pointer of a page run
        Assert.Equal(AllocError.NotAllocated, error);
        void* foreign = NativeMemory.Alloc(32);
        Assert.False(a.TryFree(foreign, out error));
        Assert.Equal(AllocError.NotFound, error);
        NativeMemory.Free(foreign);
        Assert.True(a.TryFree(null, out error));                        // like free(NULL)
        // Nothing was disturbed: the next blocks are distinct, and everything comes back.
        var seen = new HashSet<nint> { (nint)q };
        for (int i = 0; i < 1000; i++) Assert.True(seen.Add((nint)a.Allocate(100)));
        seen.Remove((nint)q);
        foreach (nint b in seen) Assert.True(a.TryFree((void*)b, out _));
        Assert.True(a.TryFree(q, out _));
        h.AssertAllPagesBack();
    }

    [Fact]
    public void TryAllocateAndTryFreeThrowNothingInsideAndAllocateNoManagedMemory()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 8 * MiB });
        void* foreign = NativeMemory.Alloc(64);
        int thrown = 0;
        int thread = Environment.CurrentManagedThreadId;
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            if (Environment.CurrentManagedThreadId == thread) Interlocked.Increment(ref thrown);
        }
        int wrong = 0;
        void Pairs(int count)
        {
            for (int i = 0; i < count; i++)
            {
                if (!heap.TryAllocate((nuint)(1 + i % 3000), out void* p) || p == null) wrong++;
                if (!heap.TryFree(p, out _)) wrong++;
                if (heap.TryFree(foreign, out AllocError error) || error != AllocError.NotFound) wrong++;   // another allocator's block
            }
        }
        Pairs(10_000);                                                      // caches made, paths compiled
        AppDomain.CurrentDomain.FirstChanceException += Count;
        long allocated = long.MaxValue;
        try
        {
            // The best of three rounds: a cost per call shows in each; a path met for the first time in a round (a purge
            // pass of the clock revoked the thread's cache meanwhile) may cost a few bytes once.
            for (int round = 0; round < 3 && allocated != 0; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Pairs(50_000);
                allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            }
        }
        finally { AppDomain.CurrentDomain.FirstChanceException -= Count; }
        Assert.Equal((0L, 0, 0), (allocated, thrown, wrong));
        NativeMemory.Free(foreign);
    }

    [Fact]
    public void TryAllocateTryReallocateAndTryUsableSizeAnswerFalseAndChangeNothing()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { MaxBytes = 16 * MiB });
        Assert.True(heap.Allocator.TryAllocate(1000, out void* p));
        Assert.True(heap.Allocator.TryUsableSize(p, out nuint usable, out AllocError error));
        Assert.True(usable >= 1000);
        new Span<byte>(p, 1000).Fill(7);
        nuint allocated = heap.AllocatedBytes;

        Assert.False(heap.Allocator.TryAllocate(64 * MiB, out void* none));         // past the budget
        Assert.True(none == null);
        Assert.False(heap.TryReallocate(p, 64 * MiB, out void* moved, out error));
        Assert.Equal(AllocError.NoMemory, error);
        Assert.True(moved == null);
        Assert.Equal(allocated, heap.AllocatedBytes);
        Assert.True(new Span<byte>(p, 1000).IndexOfAnyExcept((byte)7) < 0);          // the block kept its bytes

        Assert.False(heap.TryUsableSize((byte*)p + 8, out usable, out error));
        Assert.Equal(AllocError.NotAllocated, error);
        Assert.Equal((nuint)0, usable);
        Assert.True(heap.TryReallocate(p, 5000, out moved, out error));
        Assert.True(new Span<byte>(moved, 1000).IndexOfAnyExcept((byte)7) < 0);
        Assert.True(heap.TryFree(moved, out _));
        Assert.False(heap.TryFree(moved, out error));
        Assert.Equal(AllocError.NotAllocated, error);
    }

    [Fact]
    public void TryCallsOnADisposedHeapAnswerNotInitialized()
    {
        var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 4 * MiB });
        void* p = heap.Allocate(64);
        heap.Dispose();
        Assert.False(heap.TryFree(p, out AllocError error));
        Assert.Equal(AllocError.NotInitialized, error);
        Assert.False(heap.Allocator.TryAllocate(64, out _));
        Assert.False(heap.TryUsableSize(p, out _, out error));
        Assert.Equal(AllocError.NotInitialized, error);
    }

    [Fact]
    public void ReleaseThreadCacheGivesTheCacheBackAtOnceAndTheThreadMayComeBack()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        heap.Trim();
        nuint metadataBefore = heap.MetadataBytes;                       // the test thread's cache, if any
        var t = new Thread(() =>
        {
            var blocks = new List<nint>();
            for (int i = 0; i < 5000; i++) blocks.Add((nint)heap.Allocate((nuint)(16 + i % 900)));
            foreach (nint b in blocks) heap.Free((void*)b);
            Assert.NotEqual((nuint)0, heap.GetStatistics().Caches.ThreadMagazineBytes);
            heap.ReleaseThreadCache();
            Assert.Equal((nuint)0, heap.GetStatistics().Caches.ThreadMagazineBytes);
            heap.ReleaseThreadCache();                                   // twice: nothing more to do
            void* again = heap.Allocate(48);                             // a new cache, made on demand
            heap.Free(again);
            heap.ReleaseThreadCache();
        });
        t.Start();
        t.Join();
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
        Assert.Equal(metadataBefore, heap.MetadataBytes);                // its magazines' pages went back too
    }

    [Fact]
    public void AThreadThatReleasedItsCacheWhileHoldingAHandleGetsANewCacheOnItsNextCall()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try
            {
                ThreadHeap handle = heap.ForCurrentThread();
                handle.Free(handle.Allocate(64), 64, 16);
                heap.ReleaseThreadCache();
                void* again = heap.Allocate(64);                     // a new cache, not the released one
                heap.Free(again);
                GC.KeepAlive(handle);
            }
            catch (Exception e) { failure = e; }
        });
        t.Start();
        t.Join();
        Assert.Null(failure);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }

    [Fact]
    public void MetadataFollowsTheThreadsThatHoldCachesNotTheMostThatEverDid()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        heap.Free(heap.Allocate(8));
        heap.Trim();
        nuint one = heap.MetadataBytes;
        Assert.NotEqual((nuint)0, one);                                  // the test thread's own cache
        using var go = new ManualResetEventSlim();
        using var ready = new CountdownEvent(16);
        var threads = Enumerable.Range(0, 16).Select(_ => new Thread(() =>
        {
            heap.Free(heap.Allocate(8));
            ready.Signal();
            go.Wait();
            heap.ReleaseThreadCache();
        })).ToList();
        threads.ForEach(t => t.Start());
        ready.Wait();
        nuint many = heap.MetadataBytes;
        Assert.True(many >= 8 * one, $"16 caches held {many} bytes of metadata, one {one}");
        go.Set();
        threads.ForEach(t => t.Join());
        heap.Trim();
        Assert.Equal(one, heap.MetadataBytes);
        Assert.Equal((nuint)0, heap.AllocatedBytes);
        BuddyInspector.CheckInvariants(heap.Allocator.Buddy);
    }

    [Fact]
    public void NoCallOfAProgramCanFreeOrMeasureTheHeapsMetadata()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        heap.Free(heap.Allocate(8));                                     // makes this thread's cache, on metadata pages
        nuint run = FirstMetadataRun(heap.Allocator);
        var e = Assert.Throws<AllocatorException>(() => heap.Free((void*)run));
        Assert.Contains("metadata", e.Message);
        e = Assert.Throws<AllocatorException>(() => heap.Free((void*)(run + 512)));
        Assert.Contains("metadata", e.Message);
        Assert.Throws<AllocatorException>(() => heap.UsableSize((void*)run));
        Assert.Throws<AllocatorException>(() => heap.Reallocate((void*)run, 10));
        Assert.Throws<AllocatorException>(() => heap.Allocator.FreePages(run, 16));
        Assert.Throws<AllocatorException>(() => heap.Free((void*)run, 64 * 1024, 4096));
        Assert.False(heap.TryFree((void*)run, out AllocError error));
        Assert.Equal(AllocError.NotAllocated, error);
        // The cache on those pages still works.
        var seen = new HashSet<nint>();
        for (int i = 0; i < 1000; i++) Assert.True(seen.Add((nint)heap.Allocate(8)));
        foreach (nint p in seen) heap.Free((void*)p);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }

    [Fact]
    public void ForkLocksHoldEveryCallerOffUntilLetGo()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        heap.Free(heap.Allocate(100));
        heap.LockForFork();
        var done = new ManualResetEventSlim();
        var t = new Thread(() =>
        {
            heap.Free(heap.Allocate(100));          // a new thread: its first call makes a cache, which needs the locks
            heap.Trim();
            done.Set();
        });
        t.Start();
        Assert.False(done.Wait(300));               // held off while the locks are taken
        heap.UnlockAfterFork(child: false);
        Assert.True(done.Wait(TimeSpan.FromSeconds(30)));
        t.Join();
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
    }

    [Fact]
    public void InAForkedChildOtherThreadsCachesComeBackToTheHeap()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 * MiB });
        nint live = (nint)heap.Allocate(64);
        using var hold = new ManualResetEventSlim();
        using var cached = new CountdownEvent(2);
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            var blocks = Enumerable.Range(0, 200).Select(i => (nint)heap.Allocate(64)).ToList();
            foreach (nint b in blocks) heap.Free((void*)b);             // left in this thread's magazines
            cached.Signal();
            hold.Wait();                                                 // "gone" in the child: never calls again
        })).ToList();
        threads.ForEach(t => t.Start());
        cached.Wait();
        Assert.NotEqual((nuint)0, heap.GetStatistics().Caches.ThreadMagazineBytes);
        heap.LockForFork();
        heap.UnlockAfterFork(child: true);                              // as the forked child sees its heap
        Assert.Equal((nuint)0, heap.GetStatistics().Caches.ThreadMagazineBytes);
        heap.Free((void*)live);
        heap.Trim();
        Assert.Equal((nuint)0, heap.AllocatedBytes);
        BuddyInspector.CheckInvariants(heap.Allocator.Buddy);
        hold.Set();
        threads.ForEach(t => t.Join());
    }

    /// <summary>The first run of the allocator's metadata in its first section.</summary>
    private static nuint FirstMetadataRun(GlobalAllocator a)
    {
        ManagedSection s = a.GetSection(0);
        for (nuint page = s.Start; page < s.Start + s.TotalPageCount * 4096; page += 4096)
        {
            if (a.Buddy.TryFindRun(page, out nuint start, out _, out PageFlags flags) && flags == RunStates.Metadata && start == page)
                return page;
        }
        throw new InvalidOperationException("no metadata run");
    }
}
