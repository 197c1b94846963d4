using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>
/// Writes every result of a run to a JSON file (<c>--json PATH</c>): the options and machine, then per workload and
/// contender every repetition's ns/op (in the order they ran), median, min, max, ratio to the reference, the error
/// if it failed, and the memory measurement of <c>--memory</c>. Written with <see cref="Utf8JsonWriter"/>: no
/// reflection-based serialisation.
/// </summary>
public static class JsonReport
{
    public static void Write(string path, BenchResults results)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var o = results.Options;
        json.WriteStartObject();
        json.WriteString("tool", "buddyslab bench");
        json.WriteString("date", DateTimeOffset.UtcNow.ToString("O"));
        json.WriteNumber("elapsedSeconds", Math.Round(results.Elapsed.TotalSeconds, 1));
        json.WriteStartObject("machine");
        json.WriteNumber("processorCount", Environment.ProcessorCount);
        json.WriteString("os", RuntimeInformation.OSDescription);
        json.WriteString("runtime", RuntimeInformation.FrameworkDescription);
        json.WriteEndObject();
        json.WriteStartObject("options");
        json.WriteBoolean("quick", o.Quick);
        json.WriteNumber("scale", o.Scale);
        json.WriteNumber("reps", o.Reps);
        json.WriteNumber("threads", o.Threads);
        json.WriteString("reference", o.Reference);
        json.WriteBoolean("memory", o.Memory);
        json.WriteEndObject();
        json.WriteStartArray("skipped");
        foreach (var (name, why) in results.Skipped)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("why", why);
            json.WriteEndObject();
        }
        json.WriteEndArray();

        json.WriteStartArray("workloads");
        foreach (var w in results.Workloads)
        {
            json.WriteStartObject();
            json.WriteString("name", w.Workload.Name);
            json.WriteString("description", w.Workload.Description);
            json.WriteString("unit", w.Workload.Unit);
            json.WriteString("kind", w.Workload.Kind.ToString().ToLowerInvariant());
            json.WriteBoolean("threaded", w.Workload.Threaded);
            json.WriteNumber("operationsPerRep", w.Operations);
            json.WriteString("reference", w.ReferenceName);
            json.WriteBoolean("hasLiveSet", w.Workload.HasLiveSet);
            json.WriteStartArray("contenders");
            foreach (var c in w.Contenders)
            {
                json.WriteStartObject();
                json.WriteString("name", c.Name);
                json.WriteString("description", c.Contender.Description);
                json.WriteStartArray("nsPerOp");
                foreach (double ns in c.NanosecondsPerOperation) json.WriteNumberValue(Math.Round(ns, 3));
                json.WriteEndArray();
                if (c.HasRuns)
                {
                    json.WriteNumber("median", Math.Round(c.Median, 3));
                    json.WriteNumber("min", Math.Round(c.Min, 3));
                    json.WriteNumber("max", Math.Round(c.Max, 3));
                }
                if (c.Ratio is { } ratio) json.WriteNumber("ratio", Math.Round(ratio, 4));
                else json.WriteNull("ratio");
                if (c.PeakLiveBytes > 0) json.WriteNumber("peakLiveBytes", c.PeakLiveBytes);
                if (c.Error != null) json.WriteString("error", c.Error);
                WriteFigures(json, c);
                if (c.Memory is { } m)
                {
                    json.WriteStartObject("memory");
                    if (m.Error != null) json.WriteString("error", m.Error);
                    else
                    {
                        json.WriteNumber("baselineRssBytes", m.BaselineBytes);
                        json.WriteNumber("peakRssBytes", m.PeakBytes);
                        json.WriteNumber("liveBytesAtPeak", m.LiveBytes);
                        if (m.LiveBytes > 0 && w.Workload.HasLiveSet)
                        {
                            json.WriteNumber("peakOverLive", Math.Round((double)m.PeakBytes / m.LiveBytes, 4));
                            json.WriteNumber("growthOverLive", Math.Round((double)m.GrowthBytes / m.LiveBytes, 4));
                        }
                        json.WriteBoolean("peakWasReset", m.PeakWasReset);
                        json.WriteNumber("nsPerOp", Math.Round(m.NanosecondsPerOperation, 3));
                    }
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The workload's own figures (each run's value, in run order, and the median; null where a run did not
    /// reach it) and the curves it sampled, per timed run.</summary>
    private static void WriteFigures(Utf8JsonWriter json, ContenderResult c)
    {
        var names = c.FigureNames.ToList();
        if (names.Count > 0)
        {
            json.WriteStartArray("figures");
            foreach (var (name, unit) in names)
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteString("unit", Format.UnitLabel(unit));
                json.WriteStartArray("values");
                foreach (double v in c.FigureValues(name)) WriteNumberOrNull(json, v);
                json.WriteEndArray();
                json.WritePropertyName("median");
                WriteNumberOrNull(json, c.FigureMedian(name));
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        if (!c.Runs.Any(n => n.Series.Count > 0)) return;
        json.WriteStartArray("series");
        for (int run = 0; run < c.Runs.Count; run++)
            foreach (var s in c.Runs[run].Series)
            {
                json.WriteStartObject();
                json.WriteNumber("run", run);
                json.WriteString("name", s.Name);
                json.WriteStartArray("columns");
                foreach (string column in s.Columns) json.WriteStringValue(column);
                json.WriteEndArray();
                json.WriteStartArray("rows");
                foreach (double[] row in s.Rows)
                {
                    json.WriteStartArray();
                    foreach (double v in row) WriteNumberOrNull(json, v);
                    json.WriteEndArray();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
        json.WriteEndArray();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, double value)
    {
        if (double.IsFinite(value)) json.WriteNumberValue(Math.Round(value, 4));
        else json.WriteNullValue();
    }
}
