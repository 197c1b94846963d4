namespace BuddySlab.Sample;

/// <summary>
/// A <see cref="NativeHeap"/> of its own over OS memory: small blocks from slabs, a block that grows into whole
/// pages and shrinks in place, a double free that is refused, and every page back after <see cref="NativeHeap.Trim"/>.
/// </summary>
internal static unsafe class HeapTour
{
    public static void Run(Checks checks)
    {
        Console.WriteLine("NativeHeap");
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20, MaxBytes = 256 << 20 });

        byte* small = (byte*)heap.Allocate(64);
        checks.Equal("64 bytes: 16-byte aligned", 0ul, (ulong)small % 16);
        checks.Equal("64 bytes: usable size", (nuint)64, heap.UsableSize(small));
        for (int i = 0; i < 64; i++) small[i] = (byte)i;

        // Growing past a slab class moves the block into whole pages; the bytes travel with it.
        byte* grown = (byte*)heap.Reallocate(small, 100_000);
        checks.True("reallocated to 100,000 bytes: contents kept", Holds(grown, 64));
        checks.True("100,000 bytes: at least that much usable", heap.UsableSize(grown) >= 100_000);

        // Shrinking a page run keeps the pointer and gives the tail pages back.
        byte* shrunk = (byte*)heap.Reallocate(grown, 10_000);
        checks.True("shrunk to 10,000 bytes: same pointer", shrunk == grown);
        checks.True("10,000 bytes: contents kept", Holds(shrunk, 64));

        heap.Free(shrunk, 10_000, 16);
        checks.Refused("a second free of the same block", AllocError.NotAllocated, () => heap.Free(shrunk));

        heap.Trim();
        checks.Equal("allocated bytes after freeing and Trim()", (nuint)0, heap.AllocatedBytes);
    }

    private static bool Holds(byte* p, int count)
    {
        for (int i = 0; i < count; i++)
            if (p[i] != (byte)i) return false;
        return true;
    }
}
