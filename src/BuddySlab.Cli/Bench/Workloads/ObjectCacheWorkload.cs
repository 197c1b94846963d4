using System.Runtime.CompilerServices;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>object-cache</c> (after BenchmarkDotNet's <c>ObjectCacheBenchmarks</c>, batch case): one thread allocates 1,000
/// objects of 64 bytes (a <see cref="Block64"/>), then frees them in the same order, repeated (2,000 rounds, 2M
/// objects, in a full run). Counts ns per object (its allocation and its free). The typed allocators, BuddySlab's
/// <see cref="ObjectCache{T}"/> and a managed <c>new Block64[1]</c>, are contenders entered for this workload only.
/// A freed slot is cleared, so a managed object is garbage as soon as it is "freed", as in the BenchmarkDotNet class.
/// </summary>
public sealed class ObjectCacheWorkload : ObjectWorkload
{
    /// <summary>The workload's name, also what a contender scoped to it names (<c>onlyFor</c>).</summary>
    public const string Id = "object-cache";
    public const int Batch = 1_000;

    public override string Name => Id;
    public override string Description => $"1 thread: allocate {Batch:N0} objects of {Unsafe.SizeOf<Block64>()} bytes, then free them in order, repeated";
    public override string Unit => "object";
    public override bool HasLiveSet => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Measurement Run<TAlloc, THandle>(TAlloc allocator, RunContext context)
    {
        nuint size = (nuint)Unsafe.SizeOf<Block64>();
        var handles = new THandle[Batch];
        long rounds = context.Count(2_000, 1);
        long start = context.BeginTimed();
        for (long r = 0; r < rounds; r++)
        {
            for (int i = 0; i < Batch; i++)
            {
                THandle h = allocator.Allocate(size);
                Stamp.Write(ref allocator.Data(h), size, Stamp.Tag(i, size));
                handles[i] = h;
            }
            for (int i = 0; i < Batch; i++)
            {
                Stamp.Check(ref allocator.Data(handles[i]), size, Stamp.Tag(i, size));
                allocator.Free(handles[i], size);
                handles[i] = default;
            }
        }
        return context.EndTimed(start, rounds * Batch, Batch * (long)size);
    }
}
