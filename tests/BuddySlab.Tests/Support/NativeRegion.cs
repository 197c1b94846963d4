using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Support;

/// <summary>A block of native memory for a test to hand to an allocator; freed on dispose.</summary>
internal sealed unsafe class NativeRegion : IDisposable
{
    private void* _block;

    public NativeRegion(nuint size, nuint alignment = 4096)
    {
        _block = NativeMemory.AlignedAlloc(size, alignment);
        if (_block == null) throw new OutOfMemoryException($"Could not reserve {size} bytes for a test region.");
        Size = size;
    }

    public nuint Size { get; }
    public byte* Pointer => (byte*)_block;
    public nuint Address => (nuint)_block;

    public void Dispose()
    {
        if (_block != null) NativeMemory.AlignedFree(_block);
        _block = null;
    }
}
