namespace BuddySlab.Cli.Bench;

/// <summary>
/// The settings of one <c>bench</c> run, validated: sizes, repetitions, filters, reference, outputs.
/// <see cref="Scale"/> is what the workloads multiply their full-size operation counts by.
/// </summary>
public sealed record BenchOptions
{
    public const int DefaultReps = 5, DefaultQuickReps = 3;
    public const double QuickScale = 0.1;

    public int Threads { get; init; } = 2;
    public bool Quick { get; init; }
    public int Reps { get; init; } = DefaultReps;
    /// <summary>Workload names to run (case-insensitive; a name that is no workload's selects its family, see
    /// <see cref="WorkloadRegistry.Matching"/>); null for all.</summary>
    public IReadOnlyList<string>? Workloads { get; init; }
    /// <summary>Allocator names to run; null for all. The reference always runs when available, and so do the
    /// workloads' own references (<see cref="Contracts.Workload.Reference"/>) in the workloads the run's reference does not take part in.</summary>
    public IReadOnlyList<string>? Allocators { get; init; }
    public string Reference { get; init; } = "NativeMemory";
    public string? JsonPath { get; init; }
    /// <summary>Where <c>--html</c> writes the run's page of tables and charts; null for none.</summary>
    public string? HtmlPath { get; init; }
    public bool Memory { get; init; }

    public double Scale => Quick ? QuickScale : 1.0;

    /// <summary>Turns the raw option values into options, or an error message for the user.</summary>
    public static BenchOptions Create(int threads, bool quick, int? reps, string? workloads, string? allocators, string reference,
        string? json, bool memory, out string? error)
    {
        error = null;
        var o = new BenchOptions
        {
            Threads = threads,
            Quick = quick,
            Reps = reps ?? (quick ? DefaultQuickReps : DefaultReps),
            Workloads = Split(workloads),
            Allocators = Split(allocators),
            Reference = CanonicalAllocator(reference) ?? reference,
            JsonPath = json,
            Memory = memory,
        };
        if (threads < 1 || threads > 256) error = $"--threads must be 1..256, not {threads}.";
        else if (o.Reps < 1 || o.Reps % 2 == 0) error = $"--reps must be odd and at least 1 (the median of an odd count is one measured run), not {o.Reps}.";
        else if (CanonicalAllocator(reference) == null) error = $"Unknown reference '{reference}'. Allocators: {ContenderRegistry.NameList}.";
        else if (o.Workloads?.FirstOrDefault(w => !WorkloadRegistry.Matching(w).Any()) is { } badWorkload)
            error = $"Unknown workload '{badWorkload}'. Workloads: {WorkloadRegistry.NameList}.";
        else if (o.Allocators?.FirstOrDefault(a => CanonicalAllocator(a) == null) is { } badAllocator)
            error = $"Unknown allocator '{badAllocator}'. Allocators: {ContenderRegistry.NameList}.";
        return o;
    }

    public bool WantsWorkload(string name) => Workloads == null || Workloads.Any(w => WorkloadRegistry.Matching(w).Any(m => Same(m.Name, name)));

    public bool WantsAllocator(string name) => Same(name, Reference) || Allocators == null || Allocators.Any(a => Same(a, name))
        || WorkloadRegistry.All.Any(w => w.Reference is { } r && Same(r, name));

    public static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static string? CanonicalAllocator(string name) => ContenderRegistry.KnownNames.FirstOrDefault(n => Same(n, name));

    private static List<string>? Split(string? list) =>
        string.IsNullOrWhiteSpace(list) ? null : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
