using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using BuddySlab.Cli.Bench;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Native;
using BuddySlab.Cli.Bench.Reports;
using BuddySlab.Cli.Pictures;

namespace BuddySlab.Tests.Pictures;

/// <summary>
/// The page of <c>bench --html</c> (<see cref="HtmlReport"/>) for a run whose figures the test sets: well-formed XHTML,
/// the console's tables with their ratios, one ratio chart for the summary and one per workload, drawn on a base-2
/// logarithmic scale (0.5x and 2x are bars of equal length on either side of the 1x line), and a failed allocator
/// shown as failed in its table, its chart and a line of its own.
/// </summary>
public class BenchPageTests
{
    private static readonly XNamespace Html = XhtmlWriter.XhtmlNamespace, Svg = XhtmlWriter.SvgNamespace;

    private static readonly IReadOnlyList<Contender> Contenders = ContenderRegistry.Create(NativeLibraries.None, _ => true).Available;

    /// <summary>A workload's result with one run per allocator at <c>ns</c> per operation (NaN: the allocator failed).</summary>
    private static WorkloadResult Result(string workload, params (string Name, double Ns)[] runs)
    {
        Workload w = WorkloadRegistry.Find(workload)!;
        var results = runs.Select(r =>
        {
            var c = new ContenderResult(Contenders.First(x => x.Name == r.Name && x.RunsIn(w)));
            const long operations = 1_000_000;
            if (double.IsNaN(r.Ns)) c.Error = "out of memory";
            else c.Add(new Measurement(operations, (long)Math.Round(r.Ns * operations * Stopwatch.Frequency / 1e9), 0), new RunNotes());
            return c;
        }).ToList();
        var result = new WorkloadResult(w, results, "NativeMemory");
        result.ComputeRatios();
        return result;
    }

    private static XDocument Page()
    {
        var options = BenchOptions.Create(2, quick: true, reps: 1, null, null, "NativeMemory", null, memory: false, out string? error);
        Assert.Null(error);
        var results = new BenchResults(options) { Elapsed = TimeSpan.FromSeconds(3) };
        results.Workloads.Add(Result("churn64", ("NativeMemory", 40), ("BuddySlab", 20), ("ArrayPool", 80)));
        results.Workloads.Add(Result("pages", ("NativeMemory", 1000), ("BuddySlab", double.NaN)));
        results.Skipped.Add(("jemalloc", "libjemalloc.so.2 is not installed"));
        var text = new StringWriter();
        HtmlReport.Write(text, results, Contenders);
        return XDocument.Parse(text.ToString());
    }

    private static List<XElement> RatioCharts(XDocument page) =>
        page.Descendants(Svg + "svg").Where(s => (string?)s.Attribute("class") == "chart ratios").ToList();

    /// <summary>The names of a chart's bars, top to bottom, from their tooltips ("BuddySlab: 0.50x").</summary>
    private static List<string> BarNames(XElement chart) =>
        chart.Descendants(Svg + "rect").Select(r => r.Element(Svg + "title")!.Value.Split(':')[0]).ToList();

    /// <summary>The bar whose tooltip starts with <paramref name="name"/>: (left, width).</summary>
    private static (double X, double Width) BarOf(XElement chart, string name)
    {
        XElement bar = Assert.Single(chart.Descendants(Svg + "rect"), r => r.Element(Svg + "title")!.Value.StartsWith(name + ":", StringComparison.Ordinal));
        return (double.Parse((string)bar.Attribute("x")!, CultureInfo.InvariantCulture), double.Parse((string)bar.Attribute("width")!, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void EachWorkloadHasItsTableAndARatioChartOnALogScale()
    {
        XDocument page = Page();
        Assert.Equal(Html + "html", page.Root!.Name);
        Assert.DoesNotContain(page.Descendants(), e => e.Name.LocalName is "script" or "link" or "img" or "iframe" or "object");
        Assert.DoesNotContain(page.Descendants().Attributes(), a => a.Name.LocalName is "href" or "src" || a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));
        var charts = RatioCharts(page);
        Assert.Equal(3, charts.Count);                                  // the summary and the two workloads
        // Each workload's chart follows its heading and has one bar per allocator with a ratio, in the table's order.
        Assert.Equal(["churn64", "pages"], charts.Skip(1).Select(c => c.ElementsBeforeSelf(Html + "h2").Last().Value));
        Assert.Equal(["NativeMemory", "BuddySlab", "ArrayPool"], BarNames(charts[0]));
        Assert.Equal(["NativeMemory", "BuddySlab", "ArrayPool"], BarNames(charts[1]));
        Assert.Equal(["NativeMemory"], BarNames(charts[2]));

        XElement churn = charts[1];
        (double halfX, double halfWidth) = BarOf(churn, "BuddySlab");
        (double doubleX, double doubleWidth) = BarOf(churn, "ArrayPool");
        Assert.Equal(halfWidth, doubleWidth, 6);                        // 0.5x and 2x: equal lengths
        Assert.Equal(halfX + halfWidth, doubleX, 6);                    // on either side of the 1x line
        XElement one = Assert.Single(churn.Descendants(Svg + "line"), l => ((string)l.Attribute("class")!).Contains("one"));
        Assert.Equal(doubleX, double.Parse((string)one.Attribute("x1")!, CultureInfo.InvariantCulture), 6);
        Assert.Equal(["1/2x", "1x", "2x"], churn.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "tick").Select(t => t.Value));

        var rows = page.Descendants(Html + "tr").Select(tr => tr.Elements(Html + "td").Select(td => td.Value).ToList()).Where(r => r.Count > 0).ToList();
        Assert.Contains(["NativeMemory", "40.0", "40.0", "40.0", "1.00x (ref)"], rows);
        Assert.Contains(["BuddySlab", "20.0", "20.0", "20.0", "0.50x"], rows);
        Assert.Contains(["ArrayPool", "80.0", "80.0", "80.0", "2.00x"], rows);
        // The summary: each allocator's geometric mean over the workloads where it has a ratio.
        Assert.Contains(["BuddySlab", "0.50x", "1"], rows);
        Assert.Contains(["ArrayPool", "2.00x", "1"], rows);
    }

    [Fact]
    public void AFailedAllocatorShowsAsFailedAndTheSkippedOnesAreNamed()
    {
        XDocument page = Page();
        var rows = page.Descendants(Html + "tr").Select(tr => tr.Elements(Html + "td").Select(td => td.Value).ToList()).ToList();
        Assert.Contains(["BuddySlab", "failed", "-", "-", "-"], rows);
        XElement pages = RatioCharts(page)[2];
        Assert.Contains(pages.Descendants(Svg + "text"), t => t.Value == "failed");
        Assert.DoesNotContain(pages.Descendants(Svg + "rect"), r => r.Element(Svg + "title")!.Value.StartsWith("BuddySlab", StringComparison.Ordinal));
        var paragraphs = page.Descendants(Html + "p").Select(p => p.Value).ToList();
        Assert.Contains("BuddySlab failed: out of memory", paragraphs);
        Assert.Contains("Failed: BuddySlab in pages.", paragraphs);
        Assert.Contains("Skipped jemalloc: libjemalloc.so.2 is not installed", paragraphs);
    }
}
