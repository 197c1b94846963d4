using BuddySlab.Cli.Bench.Reports;
using BuddySlab.Cli.Pictures;
using PageState = BuddySlab.GlobalAllocator.PageState;

namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// The page the <c>map</c> command writes: for each moment of a <see cref="MapRun"/> a map of every page of every
/// section (one <c>&lt;rect&gt;</c> per page, in an <c>&lt;svg class="map"&gt;</c> per section whose
/// <c>data-pages</c> is the section's page count), then the legend, the pages by state, the statistics snapshot's
/// figures, and charts and tables of the free blocks by order and of the size classes.
/// <para><b>Invariants.</b> A map holds exactly one cell per managed page, in address order, each with the class of its
/// state (see <see cref="PageCells"/>); rows hold <see cref="PageCells.Columns"/> pages and start at a page frame number
/// that is a multiple of it, so an aligned buddy block of <see cref="PageCells.Columns"/> pages or more fills whole rows.
/// The page is XHTML (see <see cref="XhtmlWriter"/>): no script, nothing loaded from elsewhere.</para>
/// </summary>
internal static class MapPage
{
    private const string BaseStyle = """
        body{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:20px;color:#1d1d1f;background:#fff}
        h1{font-size:20px;margin:0 0 6px}
        h2{font-size:16px;margin:28px 0 8px}
        p{max-width:1100px;margin:4px 0}
        .phases{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start;margin-top:14px}
        .phase h3{font-size:14px;margin:0 0 2px}
        .phase .note{color:#555;max-width:520px;min-height:38px;margin:0 0 6px}
        .section{font-size:11px;color:#555;margin:6px 0 2px}
        .map{display:block;background:#fff}
        .legend{display:flex;flex-wrap:wrap;gap:4px 18px;list-style:none;padding:0;margin:8px 0;max-width:1600px}
        .legend li{display:flex;align-items:center;gap:6px}
        .legend svg{border:1px solid #bbb}
        table{border-collapse:collapse;margin:8px 0 4px;font-variant-numeric:tabular-nums}
        caption{text-align:left;font-weight:600;padding-bottom:4px}
        th,td{padding:2px 10px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
        th:first-child,td:first-child{text-align:left}
        th{border-bottom:1px solid #999}
        .charts{display:flex;flex-wrap:wrap;gap:20px}
        .chart text{font-size:11px;fill:#333}
        .chart .value{fill:#555}
        .chart .bar{stroke:#777;stroke-width:0.5}
        .note{color:#555}

        """;

    /// <summary>Writes the page of <paramref name="run"/> to <paramref name="output"/>.</summary>
    public static void Write(MapRun run, TextWriter output)
    {
        IReadOnlyList<SizeClassStatistics> classes = run.Phases[0].Statistics.SizeClasses;
        int maxOrder = MaxOrder(run);
        string title = $"BuddySlab heap map: {run.Workload.Name}";
        using var page = XhtmlWriter.Start(output, title, BaseStyle + PageCells.StyleRules(maxOrder, classes));

        page.Text("h1", title);
        HeapPhase first = run.Phases[0];
        nuint pages = first.Map.Sections.Aggregate((nuint)0, (sum, s) => sum + s.TotalPageCount);
        page.Text("p", $"Workload {run.Workload.Name}: {run.Workload.Description} (seed {run.Seed}). A NativeHeap of its own: " +
                       $"{Format.Size(run.HeapBytes)}, {pages:N0} managed pages of {Format.Size(run.PageSize)} in {first.Map.Sections.Count} section(s), " +
                       "one CPU, no purge clock.");
        page.Text("p", $"How to read a map: one cell is one page; a row is {PageCells.Columns} pages ({Format.Size((double)PageCells.Columns * run.PageSize)}), " +
                       "rows start on a page frame number that is a multiple of that, so a free buddy block of that many pages or more fills whole rows. " +
                       "Greys are free blocks, darker the smaller (scattered free pages); green to purple are slabs, by object size; " +
                       "orange large blocks, red page runs, yellow runs a cache holds, black the allocator's metadata.");

        page.Start("div", "phases");
        foreach (HeapPhase phase in run.Phases) Maps(page, phase, classes);
        page.End();

        page.Text("h2", "Legend");
        Legend(page, run, maxOrder, classes);

        page.Text("h2", "Pages by state");
        PagesByState(page, run, classes);

        page.Text("h2", "The statistics snapshot");
        Snapshot(page, run);

        page.Text("h2", "Free blocks by order");
        page.Text("p", "Pages in free blocks of each order (a block of order k is 2^k pages, aligned to its size): " +
                       "free memory in many small blocks and no large one is fragmentation: no long run can be served from it.", "note");
        FreeBlocks(page, run, maxOrder, classes);

        page.Text("h2", "Size classes");
        page.Text("p", "Bytes of slabs per size class (light) and the bytes of the objects taken out of them (dark): " +
                       "the gap is free slots, slab headers and unusable tails.", "note");
        SizeClasses(page, run, maxOrder);
    }

    private static int MaxOrder(MapRun run)
    {
        int max = 1;
        foreach (HeapPhase phase in run.Phases)
        {
            foreach (ManagedSection s in phase.Map.Sections) max = Math.Max(max, PageCells.MaxOrder(s.TotalPageCount));
            foreach (GlobalAllocator.PageMapRun r in phase.Map.Runs)
                if (r.State == PageState.Free) max = Math.Max(max, r.Detail);
        }
        return max;
    }

    /// <summary>One moment's maps: one picture per section, one cell per page.</summary>
    private static void Maps(XhtmlWriter page, HeapPhase phase, IReadOnlyList<SizeClassStatistics> classes)
    {
        GlobalAllocator.PageMapSnapshot map = phase.Map;
        int pageShift = System.Numerics.BitOperations.Log2((uint)map.PageSize);
        page.Start("div", "phase").Attribute("id", phase.Key);
        page.Text("h3", phase.Title);
        page.Text("p", phase.Note, "note");
        int next = 0;
        for (int i = 0; i < map.Sections.Count; i++)
        {
            ManagedSection section = map.Sections[i];
            int offset = (int)(((ulong)section.Start >> pageShift) % PageCells.Columns);
            int rows = (int)((offset + (long)section.TotalPageCount + PageCells.Columns - 1) / PageCells.Columns);
            page.Text("p", $"section {i}: {section.TotalPageCount:N0} pages at 0x{(ulong)section.Start:x}, {section.FreePageCount:N0} free", "section");
            page.StartSvg(PageCells.Columns * PageCells.Pitch, Math.Max(1, rows) * PageCells.Pitch,
                    $"{phase.Title}: the {section.TotalPageCount} pages of section {i}, coloured by state", "map")
                .Attribute("data-phase", phase.Key).Attribute("data-section", i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Attribute("data-pages", ((ulong)section.TotalPageCount).ToString(System.Globalization.CultureInfo.InvariantCulture));
            long row = -1;
            for (; next < map.Runs.Count && map.Runs[next].Section == i; next++)
            {
                GlobalAllocator.PageMapRun run = map.Runs[next];
                string cls = PageCells.ClassName(run.State, run.Detail);
                for (long p = offset + (long)run.FirstPage, end = p + run.Pages; p < end; p++)
                {
                    if (p / PageCells.Columns != row)
                    {
                        if (row >= 0) page.End();
                        row = p / PageCells.Columns;
                        page.StartRow((int)row * PageCells.Pitch);
                    }
                    page.Cell((int)(p % PageCells.Columns) * PageCells.Pitch, cls);
                }
            }
            if (row >= 0) page.End();
            page.End();
        }
        page.End();
    }

    /// <summary>Every state shown on any of the maps (and the four kinds of run, always), with its swatch.</summary>
    private static void Legend(XhtmlWriter page, MapRun run, int maxOrder, IReadOnlyList<SizeClassStatistics> classes)
    {
        var shown = new SortedSet<(PageState State, int Detail)>(run.Phases.SelectMany(p => p.Map.Runs).Select(r => (r.State, r.Detail)));
        foreach (PageState s in new[] { PageState.LargeBlock, PageState.PageRun, PageState.Cached, PageState.Metadata }) shown.Add((s, 0));
        page.Start("ul", "legend");
        foreach (var (state, detail) in shown)
        {
            page.Start("li");
            page.StartSvg(12, 12, PageCells.Describe(state, detail, classes));
            page.Rect(0, 0, 12, 12).Attribute("class", PageCells.ClassName(state, detail)).End();
            page.End();
            page.Text(PageCells.Describe(state, detail, classes));
            page.End();
        }
        page.End();
    }

    /// <summary>The count behind each colour of the maps: pages per state, per moment.</summary>
    private static void PagesByState(XhtmlWriter page, MapRun run, IReadOnlyList<SizeClassStatistics> classes)
    {
        var states = run.Phases.SelectMany(p => p.Map.Runs).Select(r => (r.State, r.Detail)).Distinct().Order().ToList();
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (state, detail) in states)
            rows.Add([PageCells.Describe(state, detail, classes), .. run.Phases.Select(p => Pages(p.Map.CountPages(state, detail), run.PageSize))]);
        rows.Add(["all pages", .. run.Phases.Select(p => Pages(p.Map.Runs.Aggregate((nuint)0, (sum, r) => sum + r.Pages), run.PageSize))]);
        page.Table(["state", .. run.Phases.Select(p => p.Title)], rows);
    }

    private static string Pages(nuint pages, int pageSize) => pages == 0 ? "-" : $"{pages:N0} ({Format.Size((double)pages * pageSize)})";

    /// <summary>The snapshot's figures and the workload's live blocks, per moment.</summary>
    private static void Snapshot(XhtmlWriter page, MapRun run)
    {
        var rows = new List<IReadOnlyList<string>>();
        void Row(string name, Func<HeapPhase, string> value) => rows.Add([name, .. run.Phases.Select(value)]);
        static string Bytes(double b) => Format.Size(b);
        Row("managed", p => Bytes(p.Statistics.ManagedBytes));
        Row("allocated (pages in use)", p => Bytes(p.Statistics.AllocatedBytes));
        Row("cached (inside allocated)", p => Bytes(p.Statistics.CachedBytes));
        Row("\u2003thread magazines", p => Bytes(p.Statistics.Caches.ThreadMagazineBytes));
        Row("\u2003thread run stacks", p => Bytes(p.Statistics.Caches.ThreadRunBytes));
        Row("\u2003CPU depots", p => Bytes(p.Statistics.Caches.CpuDepotBytes));
        Row("\u2003shared depot", p => Bytes(p.Statistics.Caches.SharedDepotBytes));
        Row("\u2003CPU page-run caches", p => Bytes(p.Statistics.Caches.CpuPageRunBytes));
        Row("\u2003empty slabs", p => Bytes(p.Statistics.Caches.EmptySlabBytes));
        Row("\u2003remote frees", p => Bytes(p.Statistics.Caches.RemoteFreeBytes));
        Row("resident", p => p.Statistics.ResidentBytes == 0 ? "-" : Bytes(p.Statistics.ResidentBytes));
        Row("returned to the system so far", p => Bytes(p.Statistics.ReleasedBytes));
        Row("free pages", p => $"{p.Statistics.Sections.Aggregate((nuint)0, (sum, s) => sum + s.FreePageCount):N0}");
        Row("largest free block", p => p.Statistics.Sections.Max(s => s.LargestFreeOrder) is var k and >= 0 ? $"order {k} ({Bytes((double)(1L << k) * run.PageSize)})" : "none");
        Row("slabs", p => $"{p.Statistics.SizeClasses.Aggregate((nuint)0, (sum, c) => sum + c.Slabs):N0}");
        Row("live objects", p => $"{p.LiveObjects.Blocks:N0} ({Bytes(p.LiveObjects.Bytes)})");
        Row("live large blocks", p => $"{p.LiveLargeBlocks.Blocks:N0} ({Bytes(p.LiveLargeBlocks.Bytes)})");
        Row("live page runs", p => $"{p.LivePageRuns.Blocks:N0} ({Bytes(p.LivePageRuns.Bytes)})");
        Row("trims, growths, failed requests", p => $"{p.Statistics.Trims}, {p.Statistics.Growths}, {p.Statistics.FailedAllocations}");
        page.Table(["figure", .. run.Phases.Select(p => p.Title)], rows);
    }

    /// <summary>Per moment, a chart of the pages in free blocks of each order, then one table of the block counts.</summary>
    private static void FreeBlocks(XhtmlWriter page, MapRun run, int maxOrder, IReadOnlyList<SizeClassStatistics> classes)
    {
        int top = run.Phases.Max(p => p.Statistics.Sections.Max(s => s.LargestFreeOrder));
        var orders = Enumerable.Range(0, Math.Max(0, top) + 1).ToList();
        double scale = run.Phases.Max(p => orders.Max(k => FreePagesOfOrder(p, k)));
        page.Start("div", "charts");
        foreach (HeapPhase phase in run.Phases)
        {
            page.Start("div");
            page.Text("h3", phase.Title);
            var bars = orders.Select(k => new Bar($"order {k} ({1L << k:N0} p)", FreePagesOfOrder(phase, k),
                PageCells.ColourOf(PageState.Free, k, maxOrder, classes),
                $"{Count(FreeBlocksOfOrder(phase, k), "block")}, {Count(FreePagesOfOrder(phase, k), "page")}")).ToList();
            BarChart.Write(page, $"{phase.Title}: pages in free blocks by order", bars, scale, 180);
            page.End();
        }
        page.End();
        var rows = orders.Select(k => (IReadOnlyList<string>)[$"{k}", $"{1L << k:N0}", .. run.Phases.Select(p => $"{FreeBlocksOfOrder(p, k):N0}")]);
        page.Table(["order", "pages per block", .. run.Phases.Select(p => $"blocks {p.Title.ToLowerInvariant()}")], rows.ToList());
    }

    /// <summary>"1 block", "2 blocks".</summary>
    private static string Count(double n, string noun) => $"{n:N0} {noun}{(n == 1 ? "" : "s")}";

    private static double FreeBlocksOfOrder(HeapPhase phase, int k) =>
        phase.Statistics.Sections.Sum(s => (double)s.FreeBlocksByOrder[k]);

    private static double FreePagesOfOrder(HeapPhase phase, int k) => FreeBlocksOfOrder(phase, k) * (1L << k);

    /// <summary>Per moment, a chart of the slab bytes of each class that has slabs at any moment, then one table.</summary>
    private static void SizeClasses(XhtmlWriter page, MapRun run, int maxOrder)
    {
        IReadOnlyList<SizeClassStatistics> all = run.Phases[0].Statistics.SizeClasses;
        var used = Enumerable.Range(0, all.Count).Where(c => run.Phases.Any(p => p.Statistics.SizeClasses[c].Slabs > 0)).ToList();
        double scale = used.Count == 0 ? 1 : run.Phases.Max(p => used.Max(c => (double)p.Statistics.SizeClasses[c].SlabBytes));
        page.Start("div", "charts");
        foreach (HeapPhase phase in run.Phases)
        {
            page.Start("div");
            page.Text("h3", phase.Title);
            var bars = used.Select(c =>
            {
                SizeClassStatistics s = phase.Statistics.SizeClasses[c];
                Colour fill = PageCells.ColourOf(PageState.Slab, c, maxOrder, all);
                return new Bar($"{s.ObjectSize:N0} B (class {c})", s.SlabBytes, Colour.Between(fill, Colour.Parse("#ffffff"), 0.6),
                    $"{Count(s.Slabs, "slab")}, {s.ObjectsInUse:N0}/{s.Slabs * (nuint)s.ObjectsPerSlab:N0} in use",
                    (double)s.ObjectsInUse * s.ObjectSize, fill);
            }).ToList();
            BarChart.Write(page, $"{phase.Title}: slab bytes and bytes in use per size class", bars, scale, 180);
            page.End();
        }
        page.End();
        var rows = used.Select(c =>
        {
            SizeClassStatistics s = all[c];
            return (IReadOnlyList<string>)[$"{c}", $"{s.ObjectSize:N0}", $"{s.SlabPages}", $"{s.ObjectsPerSlab:N0}",
                .. run.Phases.Select(p => $"{p.Statistics.SizeClasses[c].Slabs:N0} / {p.Statistics.SizeClasses[c].ObjectsInUse:N0}")];
        }).ToList();
        page.Table(["class", "object bytes", "pages per slab", "objects per slab", .. run.Phases.Select(p => $"slabs / in use {p.Title.ToLowerInvariant()}")], rows);
    }
}
