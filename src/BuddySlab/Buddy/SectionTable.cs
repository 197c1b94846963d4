namespace BuddySlab.Buddy;

/// <summary>
/// The sections of a <see cref="BuddyAllocator"/>, immutable once built: in registration order (the order
/// allocations search them) and sorted by region start, with the regions' bounds copied into the table, so that
/// finding the section of an address by binary search reads no section header but the one it returns. Adding or
/// removing a region builds a new table: a reader that takes no lock always sees a whole one, and never touches
/// the memory of a region removed since.
/// </summary>
internal sealed unsafe class SectionTable
{
    public static readonly SectionTable Empty = new([], [], [], []);

    public readonly BuddySection*[] InOrder;
    private readonly BuddySection*[] _byAddress;
    private readonly nuint[] _starts;      // region bounds, in address order
    private readonly nuint[] _ends;

    private SectionTable(BuddySection*[] inOrder, BuddySection*[] byAddress, nuint[] starts, nuint[] ends)
    {
        InOrder = inOrder;
        _byAddress = byAddress;
        _starts = starts;
        _ends = ends;
    }

    public int Count => InOrder.Length;

    /// <summary>A new table with <paramref name="added"/> appended.</summary>
    public SectionTable With(BuddySection* added)
    {
        var inOrder = new BuddySection*[InOrder.Length + 1];
        for (int i = 0; i < InOrder.Length; i++) inOrder[i] = InOrder[i];
        inOrder[^1] = added;
        return Build(inOrder);
    }

    /// <summary>A new table without <paramref name="removed"/>.</summary>
    public SectionTable Without(BuddySection* removed)
    {
        var inOrder = new BuddySection*[InOrder.Length - 1];
        int to = 0;
        for (int i = 0; i < InOrder.Length; i++)
            if (InOrder[i] != removed) inOrder[to++] = InOrder[i];
        return Build(inOrder);
    }

    private static SectionTable Build(BuddySection*[] inOrder)
    {
        int n = inOrder.Length;
        var byAddress = new BuddySection*[n];
        for (int i = 0; i < n; i++) byAddress[i] = inOrder[i];
        // Insertion sort by region start: tables hold a handful of sections and are rebuilt rarely.
        for (int i = 1; i < n; i++)
        {
            BuddySection* s = byAddress[i];
            int j = i;
            for (; j > 0 && byAddress[j - 1]->RegionStart > s->RegionStart; j--) byAddress[j] = byAddress[j - 1];
            byAddress[j] = s;
        }
        var starts = new nuint[n];
        var ends = new nuint[n];
        for (int i = 0; i < n; i++)
        {
            starts[i] = byAddress[i]->RegionStart;
            ends[i] = byAddress[i]->RegionEnd;
        }
        return new SectionTable(inOrder, byAddress, starts, ends);
    }

    /// <summary>The section whose region holds <paramref name="address"/>, or null.</summary>
    public BuddySection* Find(nuint address)
    {
        nuint[] starts = _starts, ends = _ends;
        int lo = 0, hi = starts.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (address < starts[mid]) hi = mid - 1;
            else if (address >= ends[mid]) lo = mid + 1;
            else return _byAddress[mid];
        }
        return null;
    }
}
