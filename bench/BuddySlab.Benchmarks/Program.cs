using BenchmarkDotNet.Running;

// Runs the micro-benchmarks: dotnet run -c Release --project bench/BuddySlab.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
