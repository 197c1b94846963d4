using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Support;

/// <summary>A page source over <see cref="NativeMemory.AlignedAlloc"/> for <see cref="PageSlabBackend"/>, counting pages out.</summary>
internal sealed unsafe class NativePages
{
    private readonly nuint _pageSize;

    public NativePages(nuint pageSize) => _pageSize = pageSize;

    public long PagesOut { get; private set; }
    public long Calls { get; private set; }
    public bool Exhausted { get; set; }

    public nint Allocate(nuint count)
    {
        Calls++;
        if (Exhausted)
            return 0;
        PagesOut += (long)count;
        return (nint)NativeMemory.AlignedAlloc(count * _pageSize, _pageSize);
    }

    public void Free(nint pages, nuint count)
    {
        Calls++;
        PagesOut -= (long)count;
        NativeMemory.AlignedFree((void*)pages);
    }

    public PageSlabBackend CreateBackend() => new(_pageSize, Allocate, Free);
}
