namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// The heap at one moment of a map run, read twice with nothing in between on any thread: the statistics snapshot and
/// the page map. So the map's free pages of order <c>k</c> are exactly <c>FreeBlocksByOrder[k] * 2^k</c>, and its slab
/// pages of class <c>c</c> exactly <c>Slabs * SlabPages</c> of that class.
/// </summary>
/// <param name="Key">A short name for the moment, used in element ids (<c>peak</c>, <c>freed</c>, <c>trimmed</c>).</param>
/// <param name="Title">The moment as a heading names it.</param>
/// <param name="Note">What happened just before.</param>
/// <param name="Statistics">The snapshot.</param>
/// <param name="Map">The state of every page.</param>
/// <param name="LiveObjects">The workload's live objects (count, requested bytes).</param>
/// <param name="LiveLargeBlocks">Its live large blocks.</param>
/// <param name="LivePageRuns">Its live page runs.</param>
internal sealed record HeapPhase(
    string Key,
    string Title,
    string Note,
    HeapStatistics Statistics,
    GlobalAllocator.PageMapSnapshot Map,
    (int Blocks, nuint Bytes) LiveObjects,
    (int Blocks, nuint Bytes) LiveLargeBlocks,
    (int Blocks, nuint Bytes) LivePageRuns);
