namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>
/// One allocator entered in the suite: a name, what it is, and the bridge from the non-generic runner to the
/// generic workloads. <see cref="Objects{TAlloc,THandle}"/> and <see cref="Pages{TPages}"/> capture the contender's
/// struct type, so <see cref="Run"/> calls the workload's generic method with that exact type: the only virtual
/// call is this one per run, never one per allocation. The same <see cref="Name"/> may have an object contender
/// and a page contender (NativeMemory, mimalloc, jemalloc, BuddySlab), and BuddySlab has one of every kind: the filter
/// and the summary treat them as one.
/// <para>
/// A contender runs every workload of its <see cref="Kind"/> unless it names one workload in <see cref="OnlyFor"/>
/// (or a family of them, as <c>batch-mixed-*</c>): an allocator that is single-threaded (BuddyHeap, ObjectCache),
/// serves one object size (ObjectCache, <c>new Block64[1]</c>) or one pattern (the floor) is entered for the
/// workloads it makes sense in, and appears in no other table.
/// </para>
/// <para>
/// A contender of an optional native library carries <see cref="Unavailable"/> when the library did not load: the
/// registry lists it among the known names, and skips it with that note instead of running it.
/// </para>
/// </summary>
public abstract partial class Contender(string name, string description, string? onlyFor, bool singleThreaded, string? unavailable)
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public abstract WorkloadKind Kind { get; }

    /// <summary>The one workload this contender runs (or, ending in <c>*</c>, the prefix of their names), or null for
    /// every workload of its kind.</summary>
    public string? OnlyFor { get; } = onlyFor;

    /// <summary>True for a contender bound to the thread that creates it (a <see cref="ThreadHeap"/>): it runs the
    /// single-threaded workloads only.</summary>
    public bool SingleThreaded { get; } = singleThreaded;

    /// <summary>Why this contender cannot run in this process (its native library did not load), or null.</summary>
    public string? Unavailable { get; } = unavailable;

    /// <summary>Whether this contender takes part in <paramref name="workload"/>.</summary>
    public bool RunsIn(Workload workload) =>
        workload.Kind == Kind && (OnlyFor == null || Matches(OnlyFor, workload.Name)) && !(SingleThreaded && workload.Threaded);

    private static bool Matches(string onlyFor, string workload) => onlyFor.EndsWith('*')
        ? workload.StartsWith(onlyFor[..^1], StringComparison.OrdinalIgnoreCase)
        : string.Equals(onlyFor, workload, StringComparison.OrdinalIgnoreCase);

    /// <summary>Creates a fresh instance, runs the workload once untimed when <paramref name="warmUp"/> (at the
    /// warm-up size), then once timed, and disposes the instance.</summary>
    public abstract Measurement Run(Workload workload, RunContext context, bool warmUp);

    /// <summary>A small-object contender; <paramref name="onlyFor"/> restricts it to one workload (see the class remarks).</summary>
    public static Contender Objects<TAlloc, THandle>(string name, string description, Func<TAlloc> create, string? onlyFor = null, bool singleThreaded = false,
        string? unavailable = null)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
        => new ObjectContender<TAlloc, THandle>(WorkloadKind.Objects, name, description, create, onlyFor, singleThreaded, unavailable);

    /// <summary>A pool renting buffers, for the <see cref="WorkloadKind.Rentals"/> workloads: the same struct contract as
    /// <see cref="Objects{TAlloc,THandle}"/>, with rent as the allocation and dispose or return as the free.</summary>
    public static Contender Rentals<TAlloc, THandle>(string name, string description, Func<TAlloc> create)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
        => new ObjectContender<TAlloc, THandle>(WorkloadKind.Rentals, name, description, create, null, false, null);

    public static Contender Pages<TPages>(string name, string description, Func<TPages> create, string? unavailable = null)
        where TPages : struct, IPageAllocator
        => new PageContender<TPages>(name, description, create, unavailable);

    private sealed class ObjectContender<TAlloc, THandle>(WorkloadKind kind, string name, string description, Func<TAlloc> create, string? onlyFor,
        bool singleThreaded, string? unavailable)
        : Contender(name, description, onlyFor, singleThreaded, unavailable)
        where TAlloc : struct, IBenchAllocator<THandle> where THandle : struct
    {
        public override WorkloadKind Kind => kind;

        public override Measurement Run(Workload workload, RunContext context, bool warmUp)
        {
            var w = (ObjectWorkload)workload;
            TAlloc allocator = create();
            try
            {
                if (warmUp) w.Run<TAlloc, THandle>(allocator, context.ForWarmUp());
                return w.Run<TAlloc, THandle>(allocator, context);
            }
            finally { allocator.Dispose(); }
        }
    }

    private sealed class PageContender<TPages>(string name, string description, Func<TPages> create, string? unavailable)
        : Contender(name, description, null, false, unavailable)
        where TPages : struct, IPageAllocator
    {
        public override WorkloadKind Kind => WorkloadKind.Pages;

        public override Measurement Run(Workload workload, RunContext context, bool warmUp)
        {
            var w = (PageWorkload)workload;
            TPages pages = create();
            try
            {
                if (warmUp) w.Run(pages, context.ForWarmUp());
                return w.Run(pages, context);
            }
            finally { pages.Dispose(); }
        }
    }
}
