namespace BuddySlab.Cli.Commands.Stress;

/// <summary>The settings of one <c>stress</c> run.</summary>
/// <param name="Seconds">How long the workers run.</param>
/// <param name="Threads">Workers alive at once; a worker that dies is replaced.</param>
/// <param name="Seed">The seed every worker's random sequence derives from.</param>
/// <param name="DedicatedHeap">True: the long-lived heap is a <c>new NativeHeap()</c>; false: <see cref="NativeHeap.Shared"/>.</param>
/// <param name="InjectCorruption">Overwrite one byte of one live block once, to prove the checker trips (hidden option).</param>
public sealed record StressOptions(int Seconds, int Threads, ulong Seed, bool DedicatedHeap, bool InjectCorruption);
