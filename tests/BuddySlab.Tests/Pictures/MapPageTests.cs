using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using BuddySlab.Cli.Commands.Map;
using BuddySlab.Cli.Pictures;
using PageState = BuddySlab.GlobalAllocator.PageState;

namespace BuddySlab.Tests.Pictures;

/// <summary>
/// The page of <c>buddyslab map</c> (<see cref="MapPage"/>) for every map workload: well-formed XHTML with nothing to
/// run or fetch, one cell per page of every section in address order, each cell's colour the one of its page's state,
/// counted against the statistics snapshot taken at the same moment, a legend entry for every colour shown, and (where
/// a Chromium is installed) the page drawn by a real browser.
/// </summary>
public partial class MapPageTests
{
    private static readonly XNamespace Html = XhtmlWriter.XhtmlNamespace, Svg = XhtmlWriter.SvgNamespace;

    private static readonly ConcurrentDictionary<string, Lazy<(MapRun Run, string Page)>> Pages = new();

    /// <summary>One run and page per workload, shared by the tests (a run takes about half a second).</summary>
    private static (MapRun Run, string Page) PageOf(string workload) => Pages.GetOrAdd(workload, name => new Lazy<(MapRun, string)>(() =>
    {
        MapRun run = MapRun.Execute(MapWorkloads.Find(name)!);
        var text = new StringWriter();
        MapPage.Write(run, text);
        return (run, text.ToString());
    })).Value;

    public static TheoryData<string> Workloads => new(MapWorkloads.All.Select(w => w.Name));

    [GeneratedRegex(@"\.(\w+)\{fill:(#[0-9a-f]{6})\}")]
    private static partial Regex FillRule();

    [GeneratedRegex(@"^translate\(0 (\d+)\)$")]
    private static partial Regex RowTransform();

    private static bool IsMap(XElement svg) => (string?)svg.Attribute("class") == "map";

    /// <summary>Each class's fill, from the page's style sheet.</summary>
    private static Dictionary<string, string> Fills(XDocument page) =>
        FillRule().Matches(page.Descendants(Html + "style").Single().Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    [Theory, MemberData(nameof(Workloads))]
    public void ThePageIsXhtmlWithNothingToRunOrFetch(string workload)
    {
        string page = PageOf(workload).Page;
        Assert.StartsWith("<!DOCTYPE html", page);
        XDocument doc = XDocument.Parse(page);
        Assert.Equal(Html + "html", doc.Root!.Name);
        Assert.Equal(["head", "body"], doc.Root.Elements().Select(e => e.Name.LocalName));
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName is "script" or "iframe" or "object" or "embed" or "img" or "link" or "image");
        Assert.DoesNotContain(doc.Descendants().Attributes(), a => a.Name.LocalName is "href" or "src" || a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));
        string style = doc.Descendants(Html + "style").Single().Value;
        Assert.DoesNotContain("url(", style);
        Assert.DoesNotContain("@import", style);
        // Every HTML element is closed with its end tag: an HTML parser ignores the slash of <div/> and leaves it open.
        Assert.DoesNotMatch(@"<(?!rect|meta|line|text|title)(\w+)[^<>]*/>", Regex.Replace(page, "<svg.*?</svg>", "", RegexOptions.Singleline));
    }

    [Theory, MemberData(nameof(Workloads))]
    public void EveryMapHasOneCellPerPageOfItsSectionInAddressOrder(string workload)
    {
        (MapRun run, string page) = PageOf(workload);
        XDocument doc = XDocument.Parse(page);
        var maps = doc.Descendants(Svg + "svg").Where(IsMap).ToList();
        Assert.Equal(run.Phases.Sum(p => p.Map.Sections.Count), maps.Count);
        int pageShift = System.Numerics.BitOperations.Log2((uint)run.PageSize);
        foreach (HeapPhase phase in run.Phases)
            for (int i = 0; i < phase.Map.Sections.Count; i++)
            {
                XElement map = Assert.Single(maps, m => (string?)m.Attribute("data-phase") == phase.Key && (int?)m.Attribute("data-section") == i);
                nuint pages = phase.Statistics.Sections[i].PageCount;
                Assert.Equal(phase.Map.Sections[i].TotalPageCount, pages);
                Assert.Equal((ulong)pages, (ulong)map.Attribute("data-pages")!);
                var cells = map.Descendants(Svg + "rect").ToList();
                Assert.Equal((int)pages, cells.Count);
                // Cell k is page k, at position (first page's frame number mod the row) + k of its rows.
                int first = (int)(((ulong)phase.Map.Sections[i].Start >> pageShift) % PageCells.Columns);
                var positions = cells.Select(c =>
                {
                    int y = int.Parse(RowTransform().Match((string)c.Parent!.Attribute("transform")!).Groups[1].Value, CultureInfo.InvariantCulture);
                    return y / PageCells.Pitch * PageCells.Columns + (int)c.Attribute("x")! / PageCells.Pitch;
                });
                Assert.Equal(Enumerable.Range(first, (int)pages), positions);
            }
    }

    [Theory, MemberData(nameof(Workloads))]
    public void CellColoursFollowTheStatisticsSnapshot(string workload)
    {
        (MapRun run, string page) = PageOf(workload);
        XDocument doc = XDocument.Parse(page);
        Dictionary<string, string> fills = Fills(doc);
        int pageSize = run.PageSize;
        foreach (HeapPhase phase in run.Phases)
        {
            var seen = doc.Descendants(Svg + "svg").Where(m => IsMap(m) && (string?)m.Attribute("data-phase") == phase.Key)
                .SelectMany(m => m.Descendants(Svg + "rect")).GroupBy(c => fills[(string)c.Attribute("class")!])
                .ToDictionary(g => g.Key, g => (long)g.Count());

            HeapStatistics s = phase.Statistics;
            var expected = new Dictionary<string, long>();
            void Expect(string cls, long pages)
            {
                if (pages != 0) expected[fills[cls]] = expected.GetValueOrDefault(fills[cls]) + pages;
            }
            for (int k = 0; k < s.Sections[0].FreeBlocksByOrder.Count; k++)
                Expect($"f{k}", s.Sections.Sum(x => (long)x.FreeBlocksByOrder[k]) << k);
            long slabs = 0;
            foreach (SizeClassStatistics c in s.SizeClasses)
            {
                Expect($"s{c.ClassIndex}", (long)c.Slabs * c.SlabPages);
                slabs += (long)c.Slabs * c.SlabPages;
            }
            long cached = (long)(s.Caches.ThreadRunBytes + s.Caches.CpuPageRunBytes) / pageSize;
            long pageRuns = (long)phase.LivePageRuns.Bytes / pageSize;
            long allocated = (long)s.AllocatedBytes / pageSize;
            long all = s.Sections.Sum(x => (long)x.PageCount), free = s.Sections.Sum(x => (long)x.FreePageCount);
            Expect("ca", cached);
            Expect("pr", pageRuns);
            Expect("lb", allocated - slabs - cached - pageRuns);
            Expect("md", all - free - allocated);
            Assert.Equal(expected.OrderBy(p => p.Key), seen.OrderBy(p => p.Key));
        }
        // The freeing left something in the caches and Trim() took all of it, so the yellow cells come and go.
        Assert.Equal((nuint)0, run.Phases[2].Map.CountPages(PageState.Cached) + run.Phases[2].Statistics.CachedBytes);
        Assert.True(run.Phases[1].Statistics.CachedBytes > 0);
    }

    [Fact]
    public void EveryStateHasAColourOfItsOwn()
    {
        (MapRun run, string page) = PageOf("mixed");
        Dictionary<string, string> fills = Fills(XDocument.Parse(page));
        var states = fills.Keys.Where(k => Regex.IsMatch(k, "^(f|s)[0-9]+$|^(lb|pr|ca|md)$")).ToList();
        int orders = PageCells.MaxOrder(run.Phases[0].Map.Sections[0].TotalPageCount) + 1;
        Assert.Equal(orders + run.Phases[0].Statistics.SizeClasses.Count + 4, states.Count);
        Assert.Equal(states.Count, states.Select(k => fills[k]).Distinct().Count());
        Assert.DoesNotContain("#ffffff", states.Select(k => fills[k]));
    }

    [Theory, MemberData(nameof(Workloads))]
    public void TheLegendNamesEveryStateTheMapsShow(string workload)
    {
        XDocument doc = XDocument.Parse(PageOf(workload).Page);
        var shown = doc.Descendants(Svg + "svg").Where(IsMap).SelectMany(m => m.Descendants(Svg + "rect")).Select(c => (string)c.Attribute("class")!).ToHashSet();
        XElement legend = doc.Descendants(Html + "ul").Single(e => (string?)e.Attribute("class") == "legend");
        var listed = legend.Descendants(Svg + "rect").Select(r => (string)r.Attribute("class")!).ToList();
        Assert.Equal(listed.Count, listed.Distinct().Count());
        Assert.Superset(shown, listed.ToHashSet());
        Assert.All(legend.Elements(Html + "li"), li => Assert.False(string.IsNullOrWhiteSpace(li.Value)));
    }

    [Fact]
    public void TheMapCommandWritesThePageAndRefusesAnUnknownWorkload()
    {
        string dir = Directory.CreateTempSubdirectory("buddyslab-map-").FullName;
        try
        {
            string file = Path.Combine(dir, "pages", "small.html");
            Assert.Equal(0, MapCommand.Create().Parse(["--workload", "SMALL", "--output", file, "--seed", "3"]).Invoke());
            XDocument doc = XDocument.Load(file);
            Assert.Equal("BuddySlab heap map: small", doc.Descendants(Html + "title").Single().Value);
            Assert.Equal(3, doc.Descendants(Svg + "svg").Count(IsMap));

            string other = Path.Combine(dir, "none.html");
            Assert.Equal(2, MapCommand.Create().Parse(["--workload", "nonesuch", "--output", other]).Invoke());
            Assert.False(File.Exists(other));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TheWriterRefusesAStyleSheetThatXmlWouldEscape()
    {
        var e = Assert.Throws<ArgumentException>(() => XhtmlWriter.Start(new StringWriter(), "t", "a > b { color: red }"));
        Assert.Contains("'<', '>' or '&'", e.Message);
    }

    [SkippableFact]
    public void AHeadlessChromiumDrawsTheMaps()
    {
        string? browser = HeadlessChromium.Find();
        Skip.If(browser is null, "no Chromium on this machine (chromium-headless-shell or chromium on PATH, in /usr/bin or /usr/lib/chromium): " +
                                 "the page's rendering is not checked here; .ci/run installs chromium-headless-shell where it runs as root with apt-get");
        (MapRun run, string page) = PageOf("mixed");
        string dir = Directory.CreateTempSubdirectory("buddyslab-render-").FullName;
        try
        {
            string file = Path.Combine(dir, "map.html");
            File.WriteAllText(file, page);
            const int width = 1680, height = 1000;
            byte[] png = HeadlessChromium.Screenshot(browser!, file, width, height);
            PngImage image = PngImage.Decode(png);
            Assert.Equal((width, height), (image.Width, image.Height));

            // The three maps fit the window, and the browser snaps each map to whole pixels: every cell is its colour's
            // 3x3 pixels (the legend's swatches add a few more).
            Dictionary<string, string> fills = Fills(XDocument.Parse(page));
            var pixels = new Dictionary<int, long>();
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int p = image.Pixel(x, y);
                    pixels[p] = pixels.GetValueOrDefault(p) + 1;
                }
            var cells = run.Phases.SelectMany(p => p.Map.Runs).GroupBy(r => PageCells.ClassName(r.State, r.Detail))
                .ToDictionary(g => g.Key, g => g.Sum(r => (long)r.Pages));
            foreach (var (cls, count) in cells)
            {
                long drawn = pixels.GetValueOrDefault(int.Parse(fills[cls].AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                long whole = count * PageCells.Size * PageCells.Size;
                Assert.True(drawn >= whole, $"{count} cells of class {cls} ({fills[cls]}) should be {whole} pixels, the screenshot has {drawn}");
            }
            long white = pixels.GetValueOrDefault(0xffffff);
            Assert.True(white < (long)width * height * 3 / 4, $"{white} of {width * height} pixels are white: the maps are not drawn");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
