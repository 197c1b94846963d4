using System.CommandLine;
using System.Diagnostics;
using System.Text;

namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// <c>buddyslab map</c>: runs a workload on a heap of its own and writes one self-contained HTML page of pictures of it
/// (see <see cref="MapPage"/>): every page of the heap at the peak, after freeing and after <c>Trim()</c>, the legend,
/// the numbers behind each picture, and charts of the free blocks by order and of the size classes.
/// </summary>
public static class MapCommand
{
    public static Command Create()
    {
        var workload = new Option<string>("--workload")
        {
            Description = $"The scenario to picture: {MapWorkloads.NameList}.",
            DefaultValueFactory = _ => MapWorkloads.Default.Name,
        };
        var output = new Option<string>("--output") { Description = "The HTML file to write.", DefaultValueFactory = _ => "heap-map.html" };
        var seed = new Option<int>("--seed") { Description = "Seed of the workload's random numbers.", DefaultValueFactory = _ => MapRun.DefaultSeed };
        var command = new Command("map", "Pictures of a heap: every page at the peak, after freeing and after Trim(), as one HTML page (inline SVG, no script).");
        foreach (Option o in new Option[] { workload, output, seed }) command.Options.Add(o);
        command.SetAction(parse => Run(parse.GetValue(workload)!, parse.GetValue(output)!, parse.GetValue(seed)));
        return command;
    }

    private static int Run(string workloadName, string output, int seed)
    {
        if (MapWorkloads.Find(workloadName) is not { } workload)
        {
            Console.Error.WriteLine($"Unknown workload '{workloadName}'. Workloads: {MapWorkloads.NameList}.");
            return 2;
        }
        var clock = Stopwatch.StartNew();
        MapRun run = MapRun.Execute(workload, seed: seed);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir != null) Directory.CreateDirectory(dir);
        using (var writer = new StreamWriter(output, append: false, new UTF8Encoding(false))) MapPage.Write(run, writer);
        foreach (HeapPhase phase in run.Phases)
            Console.WriteLine($"{phase.Title}: {phase.Statistics.AllocatedBytes / 1024:N0} KiB allocated, " +
                              $"{phase.Statistics.CachedBytes / 1024:N0} KiB cached, {phase.Map.Runs.Count:N0} runs");
        Console.WriteLine($"Wrote {output} ({new FileInfo(output).Length:N0} bytes) in {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }
}
