using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BuddySlab;

/// <summary>
/// The <c>pages</c> workload of <c>buddyslab bench</c> under BenchmarkDotNet: 10,000 live runs of 1..16 pages
/// (4 KiB), each step freeing a random run and allocating a new random size in its place, steady state (the live
/// set persists across invocations). BuddyAllocator over one region vs NativeMemory.AlignedAlloc(size, 4096).
/// Both write the first and last 4 bytes of each new run, as the suite does. The BuddyAllocator region is made
/// resident in the global setup, so first-touch page faults are not measured, and the live sets persist across
/// invocations, so glibc reaches the settled state the suite measures after its settling steps (see docs/bench.md).
/// Run: dotnet run -c Release --project bench/BuddySlab.Benchmarks -- --filter '*PageChurn*'
/// </summary>
[MemoryDiagnoser]
public unsafe class PageChurnBenchmarks
{
    private const int Live = 10_000;
    private const int MaxPages = 16;
    private const int Steps = 10_000;
    private const nuint PageSize = 4096;
    private const nuint RegionBytes = Live * MaxPages * 2 * PageSize + (16 << 20);

    private readonly nint[] _buddyBlocks = new nint[Live];
    private readonly nint[] _nativeBlocks = new nint[Live];
    private readonly uint[] _buddyCounts = new uint[Live];
    private readonly uint[] _nativeCounts = new uint[Live];
    private int[] _slots = [];
    private uint[] _sizes = [];
    private int _cursor;
    private byte* _region;
    private BuddyAllocator _buddy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _slots = new int[Steps * 16];
        _sizes = new uint[Steps * 16];
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = random.Next(Live);
            _sizes[i] = (uint)random.Next(1, MaxPages + 1);
        }

        _region = (byte*)NativeMemory.AlignedAlloc(RegionBytes, PageSize);
        for (nuint offset = 0; offset < RegionBytes; offset += PageSize) _region[offset] = 0;
        _buddy = new BuddyAllocator((int)PageSize);
        _buddy.Init(_region, RegionBytes);
        for (int i = 0; i < Live; i++)
        {
            uint n = (uint)random.Next(1, MaxPages + 1);
            _buddyCounts[i] = _nativeCounts[i] = n;
            _buddyBlocks[i] = (nint)Touch((byte*)_buddy.AllocatePages(n, PageSize), n);
            _nativeBlocks[i] = (nint)Touch((byte*)NativeMemory.AlignedAlloc(n * PageSize, PageSize), n);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        for (int i = 0; i < Live; i++)
        {
            _buddy.FreePages((nuint)_buddyBlocks[i], _buddyCounts[i]);
            NativeMemory.AlignedFree((void*)_nativeBlocks[i]);
        }
        NativeMemory.AlignedFree(_region);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps)]
    public void NativeMemoryAlignedAlloc()
    {
        int c = NextBatch();
        for (int s = 0; s < Steps; s++, c++)
        {
            int i = _slots[c];
            NativeMemory.AlignedFree((void*)_nativeBlocks[i]);
            uint n = _sizes[c];
            _nativeBlocks[i] = (nint)Touch((byte*)NativeMemory.AlignedAlloc(n * PageSize, PageSize), n);
            _nativeCounts[i] = n;
        }
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public void BuddyAllocatorPages()
    {
        int c = NextBatch();
        for (int s = 0; s < Steps; s++, c++)
        {
            int i = _slots[c];
            _buddy.FreePages((nuint)_buddyBlocks[i], _buddyCounts[i]);
            uint n = _sizes[c];
            _buddyBlocks[i] = (nint)Touch((byte*)_buddy.AllocatePages(n, PageSize), n);
            _buddyCounts[i] = n;
        }
    }

    /// <summary>The start of the next batch of precomputed (slot, size) steps, cycling through them.</summary>
    private int NextBatch()
    {
        int c = _cursor;
        _cursor = (_cursor + Steps) % _slots.Length;
        return c;
    }

    private static byte* Touch(byte* p, uint pages)
    {
        *(uint*)p = pages;
        *(uint*)(p + pages * PageSize - 4) = pages;
        return p;
    }
}
