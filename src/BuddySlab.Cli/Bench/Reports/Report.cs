using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.Processes;
using Spectre.Console;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>
/// The human-readable report: a header (what runs, what was skipped and why), one table per workload (median,
/// min and max ns per operation, ratio to the reference), the memory tables of <c>--memory</c>, and a one-line
/// summary (the geometric mean of each allocator's ratios). On a terminal the tables have rounded borders; when
/// output is redirected or in CI they are Markdown tables, readable in a log and pasteable into docs.
/// </summary>
public sealed class Report(IAnsiConsole console, bool plain)
{
    /// <summary>The workloads one registration runs, as the header names them.</summary>
    private static string Scope(Contender c) => c.OnlyFor
        ?? (c.SingleThreaded ? "single-threaded workloads" : c.Kind.ToString().ToLowerInvariant());

    public void Header(BenchOptions o, IReadOnlyList<Contender> contenders, IEnumerable<(string Name, string Why)> skipped, int workloads)
    {
        var names = contenders.GroupBy(c => c.Name).Select(g =>
        {
            // Where each registration of the name runs: the kinds of workloads, and "only" for a scoped one.
            bool scoped = g.Any(c => c.OnlyFor is not null || c.SingleThreaded);
            string kinds = $" ({string.Join(", ", g.Select(Scope).Distinct())}{(scoped ? " only" : "")})";
            string reference = BenchOptions.Same(g.Key, o.Reference) ? " [reference]" : "";
            return g.Key + kinds + reference;
        });
        console.MarkupLine($"[bold]buddyslab bench[/]: {workloads} workload(s); {o.Reps} rep(s) each, round-robin; {(o.Quick ? "quick size (1/10)" : "full size")}; " +
                           $"{o.Threads} thread(s) for threaded workloads");
        console.MarkupLine(Markup.Escape($"Allocators: {string.Join(", ", names)}"));
        console.MarkupLine(Markup.Escape($"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; " +
                                         $"JIT tiering delay: {(SelfProcess.TieringDelay is { } d ? d + " ms" : "default")}"));
        foreach (var (name, why) in skipped)
            console.MarkupLine($"[yellow]Skipped {Markup.Escape(name)}[/]: {Markup.Escape(why)}");
        console.WriteLine();
    }

    public void Workload(WorkloadResult r, int threads)
    {
        var w = r.Workload;
        string onThreads = w.Threaded ? $"; {threads} thread(s)" : "";
        console.MarkupLine($"[bold]{Markup.Escape(w.Name)}[/]: {Markup.Escape(w.Description)}");
        console.MarkupLine(Markup.Escape($"  ns per {w.Unit}; {r.Operations:N0} per repetition{onThreads}"));
        var table = NewTable("Allocator", "Median", "Min", "Max", $"vs {r.ReferenceName}");
        foreach (var c in r.Contenders)
        {
            if (!c.HasRuns)
            {
                table.AddRow(Markup.Escape(c.Name), "[red]failed[/]", "-", "-", "-");
                continue;
            }
            string ratio = c == r.Reference ? "1.00x (ref)" : Format.Ratio(c.Ratio);
            table.AddRow(Markup.Escape(c.Name), Format.Nanoseconds(c.Median), Format.Nanoseconds(c.Min), Format.Nanoseconds(c.Max), ratio);
        }
        WriteTable(table);
        foreach (var c in r.Contenders.Where(c => c.Failed))
            console.MarkupLine($"  [red]{Markup.Escape(c.Name)} failed[/]: {Markup.Escape(c.Error!)}");
        if (r.Reference == null && r.Contenders.Count > 1)
            console.MarkupLine(Markup.Escape($"  (no ratios: the reference {r.ReferenceName} did not run this workload)"));
        Figures(r);
        console.WriteLine();
    }

    /// <summary>The workload's own figures, one row each and a column per contender: the median over the repetitions
    /// ("-" where a contender has none, "never" where its runs did not reach it).</summary>
    private void Figures(WorkloadResult r)
    {
        var ran = r.Contenders.Where(c => c.HasRuns).ToList();
        var names = ran.SelectMany(c => c.FigureNames).Distinct().ToList();
        if (names.Count == 0) return;
        var table = NewTable("Figure", ran.Select(c => c.Name).ToArray());
        foreach (var (name, unit) in names)
            table.AddRow([Markup.Escape($"{name} ({Format.UnitLabel(unit)})"),
                .. ran.Select(c => c.FigureNames.Contains((name, unit)) ? Markup.Escape(Format.Figure(c.FigureMedian(name), unit)) : "-")]);
        int reps = ran.Max(c => c.Runs.Count);
        console.MarkupLine(Markup.Escape($"  figures: median of {reps} repetition(s)"));
        WriteTable(table);
    }

    public void Memory(BenchResults results)
    {
        var measured = results.Workloads.Where(w => w.Contenders.Any(c => c.Memory != null)).ToList();
        if (measured.Count == 0) return;
        console.MarkupLine("[bold]Peak resident memory[/] (one child process per workload and allocator; RSS = resident set size)");
        foreach (var r in measured)
        {
            console.MarkupLine($"[bold]{Markup.Escape(r.Workload.Name)}[/]");
            var table = NewTable("Allocator", "RSS before", "Peak RSS", "Growth", "Live at peak", "Peak/live", "Growth/live");
            foreach (var c in r.Contenders.Where(c => c.Memory != null))
            {
                var m = c.Memory!;
                if (m.Error != null)
                {
                    table.AddRow(Markup.Escape(c.Name), "[red]failed[/]", "-", "-", "-", "-", "-");
                    continue;
                }
                // Every workload with a live set has ratios (for pages, to the pages it touches); below a MiB the
                // runtime's own memory dominates peak/live, which the note under the table says.
                bool ratios = m.LiveBytes > 0 && r.Workload.HasLiveSet;
                table.AddRow(Markup.Escape(c.Name), Format.Mebibytes(m.BaselineBytes), Format.Mebibytes(m.PeakBytes), Format.Mebibytes(m.GrowthBytes),
                    m.LiveBytes > 0 ? Format.Mebibytes(m.LiveBytes) : "-",
                    ratios ? $"{(double)m.PeakBytes / m.LiveBytes:0.00}" : "-",
                    ratios ? $"{(double)m.GrowthBytes / m.LiveBytes:0.00}" : "-");
            }
            WriteTable(table);
            foreach (var c in r.Contenders.Where(c => c.Memory?.Error != null))
                console.MarkupLine($"  [red]{Markup.Escape(c.Name)} failed[/]: {Markup.Escape(c.Memory!.Error!)}");
            if (r.Workload.HasLiveSet && r.Contenders.Any(c => c.Memory is { Error: null, LiveBytes: > 0 and < 1 << 20 }))
                console.MarkupLine("  (live set below 1 MiB: the runtime's own memory dominates peak/live; read growth/live)");
            if (r.Contenders.Any(c => c.Memory is { Error: null, PeakWasReset: false }))
                console.MarkupLine("  (the kernel refused to reset the peak, so Peak RSS covers the child's whole life)");
            console.WriteLine();
        }
    }

    public void Summary(BenchResults results)
    {
        // Only ratios to the run's reference: a workload that compares against its own reference stays out of the mean.
        var ratios = results.Workloads.Where(w => BenchOptions.Same(w.ReferenceName, results.Options.Reference)).SelectMany(w => w.Contenders)
            .Where(c => c.Ratio is > 0 && !BenchOptions.Same(c.Name, results.Options.Reference))
            .GroupBy(c => c.Name)
            .Select(g => $"{g.Key} {Math.Exp(g.Average(c => Math.Log(c.Ratio!.Value))):0.00}x ({g.Count()})");
        string failed = results.Workloads.SelectMany(w => w.Contenders.Where(c => c.Failed).Select(c => $"{c.Name} in {w.Workload.Name}")) is var f && f.Any()
            ? $"; failed: {string.Join(", ", f)}" : "";
        console.MarkupLine(Markup.Escape(
            $"Summary: {results.Workloads.Count} workload(s), {results.Options.Reps} rep(s), {Format.Duration(results.Elapsed)}. " +
            $"Geometric mean of median ratios to {results.Options.Reference} (lower is faster; workloads in brackets): " +
            (ratios.Any() ? string.Join(", ", ratios) : "none") + failed + "."));
    }

    /// <summary>Writes a table; in plain mode without the blank padding lines the Markdown border leaves around it.</summary>
    private void WriteTable(Table table)
    {
        if (!plain)
        {
            console.Write(table);
            return;
        }
        var text = new StringWriter();
        PlainConsole.Create(text, console.Profile.Width).Write(table);
        foreach (string line in text.ToString().Split('\n'))
            if (line.Trim().Length > 0) console.WriteLine(line.TrimEnd());
    }

    private Table NewTable(string first, params string[] numeric)
    {
        var table = new Table().Border(plain ? TableBorder.Markdown : TableBorder.Rounded);
        table.AddColumn(new TableColumn(Markup.Escape(first)));
        foreach (string h in numeric) table.AddColumn(new TableColumn(Markup.Escape(h)).RightAligned());
        return table;
    }
}
