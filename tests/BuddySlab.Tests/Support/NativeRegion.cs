using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Support;

/// <summary>
/// A block of native memory for a test to hand to an allocator; freed on dispose. Regions up to 16 MiB are
/// filled with garbage (0xAB unless told otherwise), so no test can rely on memory starting zeroed; larger
/// ones are left untouched so that the OS need not back them.
/// </summary>
internal sealed unsafe class NativeRegion : IDisposable
{
    private const nuint FillLimit = 16 << 20;
    private void* _block;

    public NativeRegion(nuint size, nuint alignment = 4096, byte fill = 0xAB)
    {
        _block = NativeMemory.AlignedAlloc(size, alignment);
        if (_block == null) throw new OutOfMemoryException($"Could not reserve {size} bytes for a test region.");
        if (size <= FillLimit) NativeMemory.Fill(_block, size, fill);
        Size = size;
    }

    public nuint Size { get; }
    public byte* Pointer => (byte*)_block;
    public nuint Address => (nuint)_block;

    public byte* At(nuint offset) => Pointer + offset;

    public nuint OffsetOf(void* p) => (nuint)((byte*)p - Pointer);

    public void Dispose()
    {
        if (_block != null) NativeMemory.AlignedFree(_block);
        _block = null;
    }
}
