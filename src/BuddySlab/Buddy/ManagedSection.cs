namespace BuddySlab;

/// <summary>
/// A read-only summary of one managed region: where its pages start, how many bytes they span,
/// and how many of them are free.
/// </summary>
/// <param name="Start">Address of the first managed page (after the region's metadata prefix).</param>
/// <param name="Size">Bytes of managed pages: <c>TotalPageCount * PageSize</c>.</param>
/// <param name="FreePageCount">Pages currently free in this section.</param>
/// <param name="TotalPageCount">Pages this section manages.</param>
public readonly record struct ManagedSection(nuint Start, nuint Size, nuint FreePageCount, nuint TotalPageCount);
