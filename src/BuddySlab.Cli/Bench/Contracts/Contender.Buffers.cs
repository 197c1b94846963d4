namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>The contenders of the workloads that are not driven through a struct: pools handed to a consumer, buffer
/// writers, and a dedicated heap watched over time. Their calls go through the library's classes as a program makes
/// them, so there is no per-contender specialisation to keep.</summary>
public abstract partial class Contender
{
    /// <summary>A <see cref="System.Buffers.MemoryPool{T}"/> for the <see cref="WorkloadKind.Pools"/> workloads; <paramref name="create"/>
    /// makes one subject per repetition (warm-up and timed run share it), disposed after.</summary>
    public static Contender Pools(string name, string description, Func<PoolSubject> create) => new PoolContender(name, description, create);

    /// <summary>A buffer writer for the <see cref="WorkloadKind.Writers"/> workloads; <paramref name="create"/> makes a new one per document.</summary>
    public static Contender Writers(string name, string description, Func<BenchWriter> create) => new WriterContender(name, description, create);

    /// <summary>A dedicated heap for the <see cref="WorkloadKind.Heaps"/> workloads, made with the options each run asks for.</summary>
    public static Contender Heaps(string name, string description, Func<NativeHeapOptions, NativeHeap> create) => new HeapContender(name, description, create);

    private sealed class PoolContender(string name, string description, Func<PoolSubject> create) : Contender(name, description, null, false, null)
    {
        public override WorkloadKind Kind => WorkloadKind.Pools;

        public override Measurement Run(Workload workload, RunContext context, bool warmUp)
        {
            var w = (PoolWorkload)workload;
            using PoolSubject subject = create();
            if (warmUp) w.Run(subject, context.ForWarmUp());
            return w.Run(subject, context);
        }
    }

    private sealed class WriterContender(string name, string description, Func<BenchWriter> create) : Contender(name, description, null, false, null)
    {
        public override WorkloadKind Kind => WorkloadKind.Writers;

        public override Measurement Run(Workload workload, RunContext context, bool warmUp)
        {
            var w = (WriterWorkload)workload;
            if (warmUp) w.Run(create, context.ForWarmUp());
            return w.Run(create, context);
        }
    }

    private sealed class HeapContender(string name, string description, Func<NativeHeapOptions, NativeHeap> create)
        : Contender(name, description, null, false, null)
    {
        public override WorkloadKind Kind => WorkloadKind.Heaps;

        public override Measurement Run(Workload workload, RunContext context, bool warmUp)
        {
            var w = (HeapWorkload)workload;
            if (warmUp) w.Run(create, context.ForWarmUp());
            return w.Run(create, context);
        }
    }
}
