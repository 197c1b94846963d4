using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contenders;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>pages</c>: steady-state page churn. 10,000 live blocks of 1..16 pages (4 KiB each, uniform); each step frees
/// a random one and allocates a new random size in its place. The fill is untimed; the steps are timed
/// (200,000 in a full run: the native contenders pay page faults on most steps, which this machine makes slow). Each block is stamped in its first and last page.
/// </summary>
public sealed class PagesWorkload : PageWorkload
{
    public const int LiveBlocks = 10_000;
    public const int MaxPages = 16;

    public override string Name => "pages";
    public override string Description => $"{LiveBlocks:N0} live runs of 1..{MaxPages} pages, a random one replaced per step";
    public override string Unit => "step";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override unsafe Measurement Run<TPages>(TPages pages, RunContext context)
    {
        const nuint pageSize = IPageAllocator.PageSize;
        var blocks = new nint[LiveBlocks];
        var counts = new uint[LiveBlocks];
        var random = new FastRandom(Seed);
        long livePages = 0;
        for (int i = 0; i < LiveBlocks; i++)
        {
            uint n = 1 + random.NextBelow(MaxPages);
            byte* p = pages.AllocatePages(n);
            Stamp.Write(ref *p, n * pageSize, Stamp.Tag(i, n));
            blocks[i] = (nint)p;
            counts[i] = n;
            livePages += n;
        }

        long steps = context.Count(200_000, 1_000);
        long peakPages = livePages;
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

        for (int i = 0; i < LiveBlocks; i++)
        {
            Stamp.Check(ref *(byte*)blocks[i], counts[i] * pageSize, Stamp.Tag(i, counts[i]));
            pages.FreePages((byte*)blocks[i], counts[i]);
        }
        return m;
    }
}
