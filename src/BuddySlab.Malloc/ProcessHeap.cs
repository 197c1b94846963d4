namespace BuddySlab.Malloc;

/// <summary>
/// The one heap behind the process's <c>malloc</c>: a <see cref="NativeHeap"/> over a single reservation of
/// <see cref="ReservationBytes"/> of address space, created by the shim's constructor before any program code runs and
/// never disposed. Also holds the settings read from the environment at start and the counters the statistics print.
/// <para>Every member is set once in <see cref="Start"/>, on the one thread that runs library constructors, before
/// the shim lets any other call reach the heap.</para>
/// </summary>
internal static unsafe class ProcessHeap
{
    /// <summary>Address space reserved up front: growth in place for any program this machine can run.</summary>
    public static readonly nuint ReservationBytes = unchecked((nuint)(1ul << 40));

    public static NativeHeap Heap = null!;
    public static GlobalAllocator Allocator = null!;

    /// <summary>False when <c>BUDDYSLAB_MALLOC_ON_ERROR=ignore</c>: bad pointers are reported and the program goes on.</summary>
    public static bool AbortOnError = true;

    /// <summary>Frees and reallocations of pointers that were glibc's (made before the heap started, or from inside it).</summary>
    public static long ForeignCalls;

    /// <summary>Bad pointers reported (and ignored, or the process would have ended).</summary>
    public static long BadPointers;

    /// <summary>Creates the heap and fills the shim's table of its address ranges.</summary>
    public static void Start(HeapRanges.Table* ranges)
    {
        AbortOnError = Environment.GetEnvironmentVariable("BUDDYSLAB_MALLOC_ON_ERROR") != "ignore";
        Heap = new NativeHeap(new NativeHeapOptions { MaxBytes = ReservationBytes });
        Allocator = Heap.Allocator;
        // The reservation starts with the section's metadata: its pages end at most that far before the reservation does.
        nuint start = Allocator.GetSection(0).Start;
        nuint metadata = BuddyAllocator.RequiredMetadataSize(ReservationBytes, Allocator.PageSize);
        HeapRanges.Start(ranges, start, start + ReservationBytes - metadata);
    }
}
