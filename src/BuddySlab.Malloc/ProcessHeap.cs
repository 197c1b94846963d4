namespace BuddySlab.Malloc;

/// <summary>
/// The one heap behind the process's <c>malloc</c>: a <see cref="NativeHeap"/> created by the shim's constructor before
/// any program code runs, and never disposed.
/// <para><b>One reservation, all of it known to the shim.</b> The heap is made so that its only region is its first
/// reservation (<see cref="NativeHeapOptions.MaxBytes"/> equal to what the system reserved), so <see cref="Owns"/>
/// answers the same as the test the shim makes on its own, against <c>[Low, High)</c>, where it cannot enter the heap
/// (on an exiting thread). Every member is set once in <see cref="Start"/>, on the one thread that runs library
/// constructors, before the shim lets any other call reach the heap.</para>
/// </summary>
internal static unsafe class ProcessHeap
{
    /// <summary>Address space asked for: growth in place for any program this machine can run.</summary>
    private static readonly nuint WantedBytes = unchecked((nuint)(1ul << 40));

    public static NativeHeap Heap = null!;
    public static GlobalAllocator Allocator = null!;

    /// <summary>The heap's reservation, <c>[Low, High)</c>: every address <see cref="GlobalAllocator.Owns"/> accepts.</summary>
    /// <summary>The shared caches' fixed share per CPU: a program's <c>malloc</c> serves many small processes, whose
    /// resident size should stay near their live set.</summary>
    public const nuint DefaultSharedCacheBytesPerCpu = 2 << 20;

    public static nuint Low, High;

    /// <summary>The heap's largest slab object: a larger block is a run of whole pages.</summary>
    public static nuint LargestObject;

    /// <summary>Creates the heap. When the system reserves less than asked (an address-space limit), the heap is made
    /// again with that much as its most, so that it never adds a region outside the reservation.</summary>
    public static void Start()
    {
        nuint most = WantedBytes;
        for (int attempt = 0; ; attempt++)
        {
            var heap = new NativeHeap(new NativeHeapOptions { Name = "malloc", MaxBytes = most, SharedCacheBytesPerCpu = SharedCacheBytesPerCpu() });
            (nuint low, nuint high) = Reservation(heap.Allocator);
            if (high - low >= most || attempt == 3)
            {
                Heap = heap;
                Allocator = heap.Allocator;
                (Low, High) = (low, high);
                LargestObject = (nuint)SizeClass.All(Allocator.PageSize)[^1].ObjectSize;
                return;
            }
            heap.Dispose();
            most = high - low;
        }
    }

    /// <summary>What the heap's shared caches may hold per CPU beyond a quarter of the live bytes: <c>BUDDYSLAB_MALLOC_SHARED_CACHE</c>
    /// (bytes, with an optional K or M), else <see cref="DefaultSharedCacheBytesPerCpu"/>.</summary>
    private static nuint SharedCacheBytesPerCpu()
    {
        string? text = Environment.GetEnvironmentVariable("BUDDYSLAB_MALLOC_SHARED_CACHE")?.Trim();
        if (string.IsNullOrEmpty(text)) return DefaultSharedCacheBytesPerCpu;
        int shift = char.ToUpperInvariant(text[^1]) switch { 'K' => 10, 'M' => 20, _ => 0 };
        if (shift != 0) text = text[..^1];
        return ulong.TryParse(text, out ulong value) && value <= 1UL << (40 - shift) ? (nuint)(value << shift) : DefaultSharedCacheBytesPerCpu;
    }

    /// <summary>The bounds of the only region of a new heap, found with <see cref="GlobalAllocator.Owns"/> alone: it
    /// holds the first managed page, and is one range whose ends a binary search finds in 2 x 64 steps.</summary>
    private static (nuint Low, nuint High) Reservation(GlobalAllocator allocator)
    {
        nuint inside = allocator.GetSection(0).Start;
        nuint low = 0, high = inside;                       // Owns(low) false or low == 0, Owns(high) true
        while (high - low > 1)
        {
            nuint mid = low + (high - low) / 2;
            if (allocator.Owns((void*)mid)) high = mid; else low = mid;
        }
        nuint start = allocator.Owns((void*)low) ? low : high;
        low = inside;
        high = nuint.MaxValue;                              // Owns(low) true, Owns(high) false
        while (high - low > 1)
        {
            nuint mid = low + (high - low) / 2;
            if (allocator.Owns((void*)mid)) low = mid; else high = mid;
        }
        return (start, high);
    }
}
