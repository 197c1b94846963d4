using System.Text.RegularExpressions;

namespace BuddySlab.Tests.Diagnostics;

/// <summary>
/// The library's folders are layers, each knowing only those below it (docs/design.md has the diagram):
/// <c>Diagnostics/</c> and <c>Os/</c> at the bottom, then <c>Buddy/</c>, <c>Slab/</c>, <c>Caches/</c>, the facade at the
/// root (<c>GlobalAllocator</c>, <c>NativeHeap</c>, <c>ThreadHeap</c>), and beside each other on top <c>Objects/</c>,
/// <c>Heap/</c> and <c>Buffers/</c>. These tests read the code (comments and strings left out) and fail on any type
/// named by a file of a lower layer, or of a sibling, than the layer that declares it.
/// </summary>
public partial class LayeringTests
{
    /// <summary>Each folder's rank; a file may name types of folders of lower rank and of its own folder only.</summary>
    private static readonly Dictionary<string, int> Ranks = new()
    {
        ["Diagnostics"] = 0, ["Os"] = 1, ["Buddy"] = 2, ["Slab"] = 3, ["Caches"] = 4, [""] = 5,
        ["Objects"] = 6, ["Heap"] = 6, ["Buffers"] = 6,
    };

    private static string FolderOf(string file) => file.Contains('/') ? file[..file.IndexOf('/')] : "";

    /// <summary>A top-level type declaration (at the start of a line: nested types are indented and stay their container's business).</summary>
    [GeneratedRegex(@"^(?:(?:public|internal|static|sealed|abstract|readonly|unsafe|partial|ref|file)\s+)*(?:class|struct|interface|enum|record|delegate\s+\w+)\s+(?:class\s+|struct\s+)?([A-Z]\w*)", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""|'(?:[^'\\\n]|\\.)'", RegexOptions.Singleline)]
    private static partial Regex CommentsAndStrings();

    [Fact]
    public void EveryFolderIsALayer()
    {
        var unknown = SourceTree.LibraryFiles().Select(FolderOf).Distinct().Where(f => !Ranks.ContainsKey(f)).ToList();
        Assert.True(unknown.Count == 0, $"folders without a layer: {string.Join(", ", unknown)} (add them to the diagram and to Ranks)");
    }

    [Fact]
    public void NoFileNamesATypeOfAHigherOrSiblingLayer()
    {
        var files = SourceTree.LibraryFiles().ToDictionary(f => f, f => File.ReadAllText(Path.Combine(SourceTree.Library, f)));
        List<string> violations = Violations(files);
        Assert.True(violations.Count == 0, "lower layers name higher ones:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void TheCheckSeesViolationsButNotComments()
    {
        var files = new Dictionary<string, string>
        {
            ["GlobalAllocator.cs"] = "public sealed class GlobalAllocator { }",
            ["Heap/BuddyHeap.cs"] = "public sealed class BuddyHeap { }",
            ["Objects/ObjectCache.cs"] = "public sealed class ObjectCache { BuddyHeap h; }",          // a sibling
            ["Caches/ThreadCache.cs"] = "// the GlobalAllocator owns it\ninternal sealed class ThreadCache { GlobalAllocator o; }",
            ["Slab/SlabHeader.cs"] = "/// <see cref=\"GlobalAllocator\"/>\ninternal struct SlabHeader { string s = \"GlobalAllocator\"; }",
        };
        Assert.Equal(
            ["Caches/ThreadCache.cs names GlobalAllocator (the facade)", "Objects/ObjectCache.cs names BuddyHeap (Heap/)"],
            Violations(files).Order(StringComparer.Ordinal));
    }

    /// <summary>Every (file, type) where a file names a type declared in a higher layer or a sibling one.</summary>
    private static List<string> Violations(IReadOnlyDictionary<string, string> sources)
    {
        var files = sources.ToDictionary(p => p.Key, p => CommentsAndStrings().Replace(p.Value, " "));
        // Where each type is declared; a name declared in two folders counts as the lower one's.
        var home = new Dictionary<string, string>();
        foreach (var (file, code) in files)
            foreach (Match m in Declaration().Matches(code))
            {
                string name = m.Groups[1].Value, folder = FolderOf(file);
                if (!home.TryGetValue(name, out string? other) || Ranks[folder] < Ranks[other]) home[name] = folder;
            }

        var violations = new List<string>();
        foreach (var (file, code) in files)
        {
            string folder = FolderOf(file);
            foreach (string name in Identifier().Matches(code).Select(m => m.Value).Distinct())
            {
                if (!home.TryGetValue(name, out string? declaredIn) || declaredIn == folder) continue;
                if (Ranks[declaredIn] >= Ranks[folder])
                    violations.Add($"{file} names {name} ({(declaredIn == "" ? "the facade" : declaredIn + "/")})");
            }
        }
        return violations;
    }
}
