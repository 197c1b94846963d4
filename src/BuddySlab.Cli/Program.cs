using System.CommandLine;

var root = new RootCommand("buddyslab: benchmarks and tools for the BuddySlab allocator.");
return root.Parse(args).Invoke();
