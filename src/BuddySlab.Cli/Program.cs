using System.CommandLine;
using BuddySlab.Cli.Commands.Bench;
using BuddySlab.Cli.Commands.BenchChild;
using BuddySlab.Cli.Commands.Map;
using BuddySlab.Cli.Commands.Stress;
using BuddySlab.Cli.Commands.Trim;

// Command wiring only: each command lives with the code it runs.
var root = new RootCommand("buddyslab: benchmarks and tools for the BuddySlab allocator.");
root.Subcommands.Add(BenchCommand.Create(args));
root.Subcommands.Add(TrimCommand.Create());
root.Subcommands.Add(MapCommand.Create());
root.Subcommands.Add(StressCommand.Create());
root.Subcommands.Add(BenchChildCommand.Create());
return root.Parse(args).Invoke();
