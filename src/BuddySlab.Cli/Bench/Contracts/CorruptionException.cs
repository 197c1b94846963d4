namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>A workload found bytes it did not write: the contender overlapped allocations or lost data.</summary>
public sealed class CorruptionException(string message) : Exception(message);
