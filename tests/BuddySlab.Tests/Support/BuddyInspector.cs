namespace BuddySlab.Tests.Support;

/// <summary>Reads a <see cref="BuddyAllocator"/>'s sections from the inside, through the library's <see cref="BuddyInvariants"/>.</summary>
internal static unsafe class BuddyInspector
{
    public readonly record struct Block(nuint Address, int Order);

    /// <summary>Everything observable about the allocator, for "nothing changed" comparisons.</summary>
    public sealed record Snapshot(nuint Total, nuint Free, nuint Allocated, string Shape);

    public static Snapshot Snap(BuddyAllocator a)
    {
        var shape = new System.Text.StringBuilder();
        for (int i = 0; i < a.SectionCount; i++)
        {
            shape.Append('[');
            foreach (var b in FreeBlocks(a, i)) shape.Append($"{b.Address:x}:{b.Order} ");
            shape.Append(']');
        }
        return new Snapshot(a.TotalPageCount, a.FreePageCount, a.AllocatedBytes, shape.ToString());
    }

    /// <summary>The free blocks of section <paramref name="section"/>, sorted by address.</summary>
    public static List<Block> FreeBlocks(BuddyAllocator a, int section) =>
        BuddyInvariants.FreeBlocks(a, section).Select(b => new Block(b.Address, b.Order)).ToList();

    /// <summary>The orders of the free blocks of a section, as "order:count" pairs, ascending.</summary>
    public static string OrderHistogram(BuddyAllocator a, int section) =>
        string.Join(' ', FreeBlocks(a, section).GroupBy(b => b.Order).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}"));

    /// <summary>Checks every structural invariant of the allocator's sections (and, given the live runs, that each is
    /// recorded and disjoint from the free blocks): the library's own check, which throws naming what it found broken.</summary>
    public static void CheckInvariants(BuddyAllocator a, IEnumerable<(nuint Address, nuint Pages)>? live = null) => BuddyInvariants.Check(a, live);
}
