namespace BuddySlab.Tests.Support;

/// <summary>The repository's source files, for tests that read the code itself.</summary>
internal static class SourceTree
{
    /// <summary>The repository root: the nearest folder above the test binaries that holds <c>BuddySlab.sln</c>.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The library's folder, <c>src/BuddySlab</c>.</summary>
    public static string Library => Path.Combine(Root, "src", "BuddySlab");

    /// <summary>The library's C# files (build output excluded), as paths relative to <see cref="Library"/> with '/'.</summary>
    public static IEnumerable<string> LibraryFiles() =>
        Directory.EnumerateFiles(Library, "*.cs", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Library, p).Replace('\\', '/'))
            .Where(p => !p.StartsWith("bin/", StringComparison.Ordinal) && !p.StartsWith("obj/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BuddySlab.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No BuddySlab.sln above {AppContext.BaseDirectory}.");
    }
}
