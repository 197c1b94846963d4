using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Heap;

/// <summary>A 4096-aligned block of native memory for one test, freed on dispose.</summary>
internal sealed unsafe class NativeRegion : IDisposable
{
    public NativeRegion(nuint size, byte fill = 0xAB)
    {
        Size = size;
        Base = (byte*)NativeMemory.AlignedAlloc(size, BuddyHeap.MaxAlignment);
        // Garbage, not zeros: the heap must not depend on the memory being initialized.
        NativeMemory.Fill(Base, size, fill);
    }

    public byte* Base { get; private set; }

    public nuint Size { get; }

    public byte* At(nuint offset) => Base + offset;

    public nuint OffsetOf(void* p) => (nuint)((byte*)p - Base);

    public void Dispose()
    {
        NativeMemory.AlignedFree(Base);
        Base = null;
    }
}
