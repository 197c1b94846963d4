namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>Which contenders a workload takes: small-object allocators or page allocators.</summary>
public enum WorkloadKind { Objects, Pages }

/// <summary>
/// A whole allocation workload: a name, a description, the operation it counts, and a run method that sets up
/// untimed, times only its loop (through <see cref="RunContext.BeginTimed"/> / <see cref="RunContext.EndTimed"/>) and
/// cleans up untimed. Workloads draw every random number from a <c>FastRandom</c> with a fixed seed, so every
/// contender sees the same sequence of sizes, slots and orders. Every allocation is stamped (<c>Stamp</c>) and
/// checked before it is freed, so nothing is optimised away and an allocator that hands out overlapping memory fails.
/// </summary>
public abstract class Workload
{
    /// <summary>The seed of every workload's random sequences.</summary>
    public const ulong Seed = 0x5EED_B0DD_51AB;

    public abstract string Name { get; }
    public abstract string Description { get; }
    public abstract WorkloadKind Kind { get; }
    /// <summary>What one counted operation is, for the table header ("ns per …").</summary>
    public virtual string Unit => "op";
    /// <summary>True when the workload runs on <see cref="RunContext.Threads"/> threads.</summary>
    public virtual bool Threaded => false;
}
