namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>Which contenders a workload takes. Each kind has its own contract, and a contender registers for one kind.</summary>
public enum WorkloadKind
{
    /// <summary>Small-object allocators (<see cref="IBenchAllocator{THandle}"/>, <see cref="ObjectWorkload"/>).</summary>
    Objects,
    /// <summary>Page allocators (<see cref="IPageAllocator"/>, <see cref="PageWorkload"/>).</summary>
    Pages,
    /// <summary>Pools renting buffers, as <see cref="IBenchAllocator{THandle}"/> structs (rent is the allocation, dispose or
    /// return the free) in an <see cref="ObjectWorkload"/> of this kind.</summary>
    Rentals,
    /// <summary><see cref="System.Buffers.MemoryPool{T}"/>s handed to a consumer that rents by itself (<see cref="PoolWorkload"/>).</summary>
    Pools,
    /// <summary><see cref="System.Buffers.IBufferWriter{T}"/>s of bytes (<see cref="WriterWorkload"/>).</summary>
    Writers,
    /// <summary>A dedicated <see cref="NativeHeap"/> watched over time (<see cref="HeapWorkload"/>).</summary>
    Heaps,
}

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

    /// <summary>True when the workload holds a live set whose size its measurement reports
    /// (<see cref="RunNotes.MemoryLiveBytes"/>): <c>--memory</c> then divides the peak resident size by it.</summary>
    public virtual bool HasLiveSet => false;

    /// <summary>The most repetitions the workload runs, whatever <c>--reps</c> says (null: no cap), for workloads whose
    /// run waits on a clock rather than doing work.</summary>
    public virtual int? MaxReps => null;

    /// <summary>False for a workload whose every run is measured from a fresh state, so a warm-up run would only cost time.</summary>
    public virtual bool WarmsUp => true;

    /// <summary>The contender the ratios are relative to when the run's reference does not take part in this workload
    /// (null: no ratios then). It runs whatever <c>--allocators</c> says, as the run's reference does.</summary>
    public virtual string? Reference => null;
}
