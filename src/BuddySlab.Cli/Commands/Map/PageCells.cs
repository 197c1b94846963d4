using System.Text;
using BuddySlab.Cli.Pictures;
using PageState = BuddySlab.GlobalAllocator.PageState;

namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// How a page looks on the map: one cell of <see cref="Size"/> pixels every <see cref="Pitch"/> pixels, rows of
/// <see cref="Columns"/> pages, and a CSS class per state (<c>f3</c>: free block of order 3, <c>s4</c>: slab of size
/// class 4, <c>lb</c>: large block, <c>pr</c>: page run, <c>ca</c>: cached run, <c>md</c>: metadata) whose rule gives
/// its fill. Every state has its own colour: free blocks in greys from dark (order 0, the most scattered) to light (the
/// largest order of the heap), slabs in hues from green (8-byte objects) through blue to purple (8192 bytes), and four
/// distinct colours for the other states.
/// </summary>
internal static class PageCells
{
    public const int Columns = 128, Pitch = 4, Size = 3;

    private static readonly Colour FreeSmall = Colour.Parse("#9a9a9a"), FreeLarge = Colour.Parse("#ededed");
    public static readonly Colour LargeBlock = Colour.Parse("#f28e2b");
    public static readonly Colour PageRun = Colour.Parse("#c0282d");
    public static readonly Colour Cached = Colour.Parse("#f5d000");
    public static readonly Colour Metadata = Colour.Parse("#1b1b1b");

    /// <summary>The CSS class of a page in <paramref name="state"/>.</summary>
    public static string ClassName(PageState state, int detail) => state switch
    {
        PageState.Free => "f" + detail,
        PageState.Slab => "s" + detail,
        PageState.LargeBlock => "lb",
        PageState.PageRun => "pr",
        PageState.Cached => "ca",
        _ => "md",
    };

    /// <summary>The fill of a page in <paramref name="state"/>, on a map whose largest free order is
    /// <paramref name="maxOrder"/> and whose heap has the size classes <paramref name="classes"/>.</summary>
    public static Colour ColourOf(PageState state, int detail, int maxOrder, IReadOnlyList<SizeClassStatistics> classes) => state switch
    {
        PageState.Free => Colour.Between(FreeSmall, FreeLarge, (double)detail / Math.Max(1, maxOrder)),
        PageState.Slab => SlabColour(detail, classes),
        PageState.LargeBlock => LargeBlock,
        PageState.PageRun => PageRun,
        PageState.Cached => Cached,
        _ => Metadata,
    };

    /// <summary>A slab's fill: the hue from green to purple by the logarithm of its object size (classes crowd at the small
    /// sizes, where most objects are), the lightness alternating from one class to the next so that neighbours differ.</summary>
    private static Colour SlabColour(int cls, IReadOnlyList<SizeClassStatistics> classes)
    {
        double smallest = Math.Log2(classes[0].ObjectSize), largest = Math.Log2(classes[^1].ObjectSize);
        double t = (Math.Log2(classes[cls].ObjectSize) - smallest) / Math.Max(1, largest - smallest);
        return Colour.FromHsl(95 + 205 * t, 0.62, cls % 2 == 0 ? 0.38 : 0.5);
    }

    /// <summary>What a page in <paramref name="state"/> is, in words.</summary>
    public static string Describe(PageState state, int detail, IReadOnlyList<SizeClassStatistics> classes) => state switch
    {
        PageState.Free => $"free, order {detail} ({1L << detail:N0} page{(detail == 0 ? "" : "s")})",
        PageState.Slab => $"slab of {classes[detail].ObjectSize:N0}-byte objects (class {detail})",
        PageState.LargeBlock => "large block (Allocate of whole pages)",
        PageState.PageRun => "page run (AllocatePages)",
        PageState.Cached => "cached run (a thread's or a CPU's cache)",
        _ => "the allocator's metadata",
    };

    /// <summary>The style rules of every cell class: the cells' size inside a map, and each state's fill.</summary>
    public static string StyleRules(int maxOrder, IReadOnlyList<SizeClassStatistics> classes)
    {
        var css = new StringBuilder();
        css.Append($".map rect{{width:{Size}px;height:{Size}px}}\n");
        for (int k = 0; k <= maxOrder; k++) Rule(PageState.Free, k);
        for (int c = 0; c < classes.Count; c++) Rule(PageState.Slab, c);
        foreach (PageState s in new[] { PageState.LargeBlock, PageState.PageRun, PageState.Cached, PageState.Metadata }) Rule(s, 0);
        return css.ToString();

        void Rule(PageState state, int detail) =>
            css.Append($".{ClassName(state, detail)}{{fill:{ColourOf(state, detail, maxOrder, classes).Hex}}}\n");
    }

    /// <summary>The largest order a free block can have in a section of <paramref name="pages"/> pages.</summary>
    public static int MaxOrder(nuint pages) => pages <= 1 ? 0 : System.Numerics.BitOperations.Log2((ulong)pages);
}
