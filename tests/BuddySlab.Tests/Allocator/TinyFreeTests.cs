namespace BuddySlab.Tests.Allocator;

/// <summary>
/// The fast free of 8-byte objects: their only word holds the remote link while they wait on their slab's remote list,
/// so no free mark says they are free there, and the fast path reads the slab's bitmaps. Two CPUs steered by the test's
/// platform, thread caches on.
/// </summary>
public unsafe class TinyFreeTests : IDisposable
{
    private readonly GlobalHarness _h = new(cpus: 2);
    private GlobalAllocator A => _h.Allocator;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void AnObjectWaitingOnItsSlabsRemoteListIsRefusedOnItsOwnersCpu()
    {
        var p = (nuint*)_h.On(0).A().Allocate(8);
        *p = 0x1234;
        _h.On(1);
        A.Free(p);                                  // another CPU's slab: a remote free, its word now the remote link
        _h.On(0);
        foreach (Action free in new Action[] { () => A.Free(p), () => A.Free(p, 8, 8) })
        {
            var e = Assert.Throws<AllocatorException>(free);
            Assert.Equal(AllocError.NotAllocated, e.Error);
            Assert.Contains($"0x{(nuint)p:x}", e.Message);
        }
        _h.AssertAllPagesBack();
    }

    [Fact]
    public void ObjectsFreedOnTheirOwnersCpuComeBackNewestFirstAndOnlyOnce()
    {
        _h.On(0);
        var objects = Enumerable.Range(0, 100).Select(_ => (nint)A.Allocate(8)).ToList();
        foreach (nint p in objects) A.Free((void*)p);
        foreach (nint p in objects)
            Assert.Throws<AllocatorException>(() => A.Free((void*)p));      // each sits in the magazine now
        var again = Enumerable.Range(0, 100).Select(_ => (nint)A.Allocate(8)).ToList();
        objects.Reverse();
        Assert.Equal(objects, again);               // the thread's magazine, newest first, each object once
        foreach (nint p in again) A.Free((void*)p, 8, 8);
        _h.AssertAllPagesBack();
    }
}
