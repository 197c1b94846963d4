using System.Runtime.InteropServices;
using System.Text;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Processes;
using BuddySlab.Cli.Pictures;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>
/// The run as one self-contained HTML page (<c>--html PATH</c>): what ran and on what machine, the summary (each
/// allocator's geometric mean of its ratios, as a table and a chart), then per workload the table the console prints
/// (median, min and max ns per operation, ratio to the reference), a chart of the ratios on a logarithmic scale, the
/// workload's own figures, and the memory tables of <c>--memory</c>. XHTML with inline SVG (see
/// <see cref="XhtmlWriter"/>): no script, nothing fetched.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:20px;color:#1d1d1f;background:#fff;max-width:1100px}
        h1{font-size:20px;margin:0 0 6px}
        h2{font-size:16px;margin:30px 0 4px}
        p{margin:4px 0}
        .note{color:#555}
        .failed{color:#b00020}
        table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
        th,td{padding:2px 10px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
        th:first-child,td:first-child{text-align:left}
        th{border-bottom:1px solid #999}
        .chart text{font-size:11px;fill:#333}
        .chart .value{fill:#444}
        .chart .note{fill:#b00020}
        .chart .tick{fill:#666}
        .chart .axis{stroke:#ddd;stroke-width:1}
        .chart .one{stroke:#777}

        """;

    /// <summary>Writes the page of <paramref name="results"/> to <paramref name="path"/>; <paramref name="contenders"/>
    /// are the allocators the run had.</summary>
    public static void Write(string path, BenchResults results, IReadOnlyList<Contender> contenders)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        Write(writer, results, contenders);
    }

    /// <summary>Writes the page of <paramref name="results"/> to <paramref name="output"/>.</summary>
    public static void Write(TextWriter output, BenchResults results, IReadOnlyList<Contender> contenders)
    {
        BenchOptions o = results.Options;
        using var page = XhtmlWriter.Start(output, "buddyslab bench", Style);
        page.Text("h1", "buddyslab bench");
        page.Text("p", $"{results.Workloads.Count} workload(s); {o.Reps} repetition(s) each, round-robin; {(o.Quick ? "quick size (1/10)" : "full size")}; " +
                       $"{o.Threads} thread(s) for threaded workloads; {Format.Duration(results.Elapsed)}; {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        page.Text("p", $"Allocators: {string.Join(", ", contenders.Select(c => c.Name).Distinct())}; ratios are to {o.Reference} unless a workload says otherwise " +
                       "(lower is faster; the charts' scale is logarithmic, so 0.5x and 2x are bars of equal length).");
        page.Text("p", $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; " +
                       $"JIT tiering delay: {(SelfProcess.TieringDelay is { } d ? d + " ms" : "default")}.", "note");
        foreach (var (name, why) in results.Skipped) page.Text("p", $"Skipped {name}: {why}", "note");

        Summary(page, results);
        foreach (WorkloadResult r in results.Workloads) Workload(page, r, o.Threads);
        Memory(page, results);
    }

    /// <summary>Each allocator's geometric mean of its median ratios to the run's reference, over the workloads that
    /// compare with it (the console's summary line).</summary>
    private static void Summary(XhtmlWriter page, BenchResults results)
    {
        string reference = results.Options.Reference;
        var means = results.Workloads.Where(w => BenchOptions.Same(w.ReferenceName, reference)).SelectMany(w => w.Contenders)
            .Where(c => c.Ratio is > 0 && !BenchOptions.Same(c.Name, reference))
            .GroupBy(c => c.Name)
            .Select(g => (Name: g.Key, Mean: Math.Exp(g.Average(c => Math.Log(c.Ratio!.Value))), Count: g.Count()))
            .ToList();
        page.Text("h2", "Summary");
        if (means.Count == 0)
        {
            page.Text("p", "No ratios: the reference did not run, or nothing ran beside it.", "note");
            return;
        }
        page.Text("p", $"Geometric mean of each allocator's median ratios to {reference}, over the workloads it ran.", "note");
        page.Table(["allocator", $"vs {reference}", "workloads"], means.Select(m => (IReadOnlyList<string>)[m.Name, Format.Ratio(m.Mean), $"{m.Count}"]).ToList());
        RatioChart.Write(page, $"Geometric mean of the ratios to {reference}",
            [new RatioBar(reference, 1, IsReference: true), .. means.Select(m => new RatioBar(m.Name, m.Mean))]);
        var failed = results.Workloads.SelectMany(w => w.Contenders.Where(c => c.Failed).Select(c => $"{c.Name} in {w.Workload.Name}")).ToList();
        if (failed.Count > 0) page.Text("p", $"Failed: {string.Join(", ", failed)}.", "failed");
    }

    private static void Workload(XhtmlWriter page, WorkloadResult r, int threads)
    {
        Workload w = r.Workload;
        page.Start("h2").Attribute("id", $"workload-{w.Name}").Text(w.Name).End();
        page.Text("p", w.Description);
        page.Text("p", $"ns per {w.Unit}; {r.Operations:N0} per repetition{(w.Threaded ? $"; {threads} thread(s)" : "")}.", "note");
        var rows = r.Contenders.Select(c => (IReadOnlyList<string>)(c.HasRuns
            ? [c.Name, Format.Nanoseconds(c.Median), Format.Nanoseconds(c.Min), Format.Nanoseconds(c.Max), c == r.Reference ? "1.00x (ref)" : Format.Ratio(c.Ratio)]
            : [c.Name, "failed", "-", "-", "-"])).ToList();
        page.Table(["allocator", "median", "min", "max", $"vs {r.ReferenceName}"], rows);
        if (r.Reference == null && r.Contenders.Count > 1)
            page.Text("p", $"No ratios: the reference {r.ReferenceName} did not run this workload.", "note");
        else
            RatioChart.Write(page, $"{w.Name}: median ns per {w.Unit} as a ratio to {r.ReferenceName}", r.Contenders.Select(c =>
                new RatioBar(c.Name, c.Ratio, IsReference: c == r.Reference, Note: c.Failed ? "failed" : null)).ToList());
        foreach (ContenderResult c in r.Contenders.Where(c => c.Failed)) page.Text("p", $"{c.Name} failed: {c.Error}", "failed");
        Figures(page, r);
    }

    /// <summary>The workload's own figures: one row each, a column per allocator, the median over the repetitions.</summary>
    private static void Figures(XhtmlWriter page, WorkloadResult r)
    {
        var ran = r.Contenders.Where(c => c.HasRuns).ToList();
        var names = ran.SelectMany(c => c.FigureNames).Distinct().ToList();
        if (names.Count == 0) return;
        var rows = names.Select(n => (IReadOnlyList<string>)[$"{n.Name} ({Format.UnitLabel(n.Unit)})",
            .. ran.Select(c => c.FigureNames.Contains(n) ? Format.Figure(c.FigureMedian(n.Name), n.Unit) : "-")]).ToList();
        page.Text("p", $"Figures: median of {ran.Max(c => c.Runs.Count)} repetition(s).", "note");
        page.Table(["figure", .. ran.Select(c => c.Name)], rows);
    }

    /// <summary>The tables of <c>--memory</c>: resident memory of each child process.</summary>
    private static void Memory(XhtmlWriter page, BenchResults results)
    {
        var measured = results.Workloads.Where(w => w.Contenders.Any(c => c.Memory != null)).ToList();
        if (measured.Count == 0) return;
        page.Text("h2", "Peak resident memory");
        page.Text("p", "One child process per workload and allocator; RSS = resident set size.", "note");
        foreach (WorkloadResult r in measured)
        {
            page.Text("h3", r.Workload.Name);
            var rows = r.Contenders.Where(c => c.Memory != null).Select<ContenderResult, IReadOnlyList<string>>(c =>
            {
                MemoryResult m = c.Memory!;
                if (m.Error != null) return [c.Name, "failed", "-", "-", "-", "-", "-"];
                bool ratios = m.LiveBytes > 0 && r.Workload.HasLiveSet;
                return [c.Name, Format.Mebibytes(m.BaselineBytes), Format.Mebibytes(m.PeakBytes), Format.Mebibytes(m.GrowthBytes),
                    m.LiveBytes > 0 ? Format.Mebibytes(m.LiveBytes) : "-",
                    ratios ? $"{(double)m.PeakBytes / m.LiveBytes:0.00}" : "-", ratios ? $"{(double)m.GrowthBytes / m.LiveBytes:0.00}" : "-"];
            }).ToList();
            page.Table(["allocator", "RSS before", "peak RSS", "growth", "live at peak", "peak/live", "growth/live"], rows);
            foreach (ContenderResult c in r.Contenders.Where(c => c.Memory?.Error != null)) page.Text("p", $"{c.Name} failed: {c.Memory!.Error}", "failed");
        }
    }
}
