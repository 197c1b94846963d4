namespace BuddySlab.Os;

/// <summary>
/// Where a page back end gets memory beyond its first region, and where it gives free memory back: the operating
/// system for a native heap (<see cref="OsRegionSource"/>); nothing at all for regions a caller hands the global
/// allocator, which then never grows and never gives pages back. The back end calls it under its
/// growth lock (growth) or its page lock (giving back), never both, and never while any other allocator lock is held.
/// </summary>
internal unsafe interface IRegionSource
{
    /// <summary>The largest request worth growing for: more than this (the budget, or the machine's memory) can never be
    /// met, so it answers "no memory" at once instead of taking any.</summary>
    nuint MaxRequestBytes { get; }

    /// <summary>True when new regions read as zero (fresh mappings), so their page records need no clearing.</summary>
    bool MapsZeroedRegions { get; }

    /// <summary>Bytes of a reservation to bring into use for a block of <paramref name="block"/> bytes, when
    /// <paramref name="reservedLeft"/> bytes of it are still unused: at most both that and the budget's room; 0 when none.</summary>
    nuint InPlaceGrowth(nuint block, nuint reservedLeft);

    /// <summary>Records that <paramref name="bytes"/> of the reservation came into use.</summary>
    void Committed(nuint bytes);

    /// <summary>A new region of at least <paramref name="needed"/> bytes (metadata included) within the budget, or false.</summary>
    bool TryMapRegion(nuint needed, out void* region, out nuint bytes);

    /// <summary>Gives the pages of <c>[address, address + bytes)</c> back at once; they read as zero when next touched.</summary>
    void Discard(nuint address, nuint bytes);

    /// <summary>Takes back a whole region this source mapped, which no longer holds anything.</summary>
    void ReleaseRegion(nuint start, nuint bytes);
}
