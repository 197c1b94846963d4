using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>pages</c>: steady-state page churn. 10,000 live runs of 1..16 pages (4 KiB, uniform); each step frees a
/// random run and allocates a new random size in its place. Timed: 200,000 steps per run in a full run.
/// <para>
/// The live set is filled once per contender (untimed) and then <b>kept across runs</b>: every warm-up and timed run
/// continues the same churn where the previous one stopped, each contender with its own copy of the same random
/// sequence. Freeing and refilling the set for every run would restart the allocators from an empty heap each time,
/// and glibc's posix_memalign, for one, takes about a million steps of churn to settle (it starts several times
/// slower). So after the fill come 1,000,000 untimed settling steps (a tenth with --quick), and the repetitions, and so the
/// median, see the long-run state the workload is about.
/// </para>
/// </summary>
public sealed class PagesWorkload : PageWorkload
{
    public const int LiveBlocks = 10_000;
    public const int MaxPages = 16;

    /// <summary>Untimed steps after the first fill, before any measured or warm-up run: most of the settling.</summary>
    private const long SettlingSteps = 1_000_000;

    private readonly Dictionary<Type, LiveSet> _live = [];

    public override string Name => "pages";
    public override string Description => $"{LiveBlocks:N0} live runs of 1..{MaxPages} pages, a random one replaced per step (steady state)";
    public override string Unit => "step";
    /// <summary>The live runs; <c>--memory</c> divides by the pages the workload touches (the first and last of each
    /// run), since a run's other pages need never be resident.</summary>
    public override bool HasLiveSet => true;

    public override Measurement Run<TPages>(TPages pages, RunContext context)
    {
        if (!_live.TryGetValue(typeof(TPages), out var set))
        {
            _live[typeof(TPages)] = set = Fill(pages);
            Churn(pages, context with { Probe = null }, set, context.CountAtRunScale(SettlingSteps, 1_000));
        }
        var m = Churn(pages, context, set, context.Count(200_000, 1_000));
        context.Notes.TouchedLiveBytes = TouchedBytes(set);
        return m;
    }

    /// <summary>The bytes of the pages the steps stamp in the live runs (the first and the last of each), at the end of a
    /// run: the live set's steady size, as the resident memory a perfect allocator would need.</summary>
    private static long TouchedBytes(LiveSet set) => set.Counts.Sum(n => Math.Min(n, 2u)) * (long)IPageAllocator.PageSize;

    /// <summary>The live runs of one contender and where its random sequence has got to.</summary>
    private sealed class LiveSet
    {
        public readonly nint[] Blocks = new nint[LiveBlocks];
        public readonly uint[] Counts = new uint[LiveBlocks];
        public FastRandom Random = new(Seed);
        public long LivePages;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe LiveSet Fill<TPages>(TPages pages) where TPages : struct, IPageAllocator
    {
        const nuint pageSize = IPageAllocator.PageSize;
        var set = new LiveSet();
        for (int i = 0; i < LiveBlocks; i++)
        {
            uint n = 1 + set.Random.NextBelow(MaxPages);
            byte* p = pages.AllocatePages(n);
            Stamp.Write(ref *p, n * pageSize, Stamp.Tag(i, n));
            set.Blocks[i] = (nint)p;
            set.Counts[i] = n;
            set.LivePages += n;
        }
        return set;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe Measurement Churn<TPages>(TPages pages, RunContext context, LiveSet set, long steps) where TPages : struct, IPageAllocator
    {
        const nuint pageSize = IPageAllocator.PageSize;
        nint[] blocks = set.Blocks;
        uint[] counts = set.Counts;
        var random = set.Random;
        long livePages = set.LivePages, peakPages = livePages;
        long start = context.BeginTimed();
        for (long s = 0; s < steps; s++)
        {
            int i = (int)random.NextBelow(LiveBlocks);
            uint old = counts[i];
            byte* p = (byte*)blocks[i];
            Stamp.Check(ref *p, old * pageSize, Stamp.Tag(i, old));
            pages.FreePages(p, old);
            uint n = 1 + random.NextBelow(MaxPages);
            p = pages.AllocatePages(n);
            Stamp.Write(ref *p, n * pageSize, Stamp.Tag(i, n));
            blocks[i] = (nint)p;
            counts[i] = n;
            livePages += n - (long)old;
            if (livePages > peakPages) peakPages = livePages;
        }
        var m = context.EndTimed(start, steps, peakPages * (long)pageSize);
        set.Random = random;
        set.LivePages = livePages;
        return m;
    }
}
