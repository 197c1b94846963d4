namespace BuddySlab.Buddy;

/// <summary>
/// The sections of a <see cref="BuddyAllocator"/>, immutable once built: in registration order (the order
/// allocations search them) and sorted by region start (for finding the section of an address by binary
/// search). Adding a region builds a new table, so a reader that takes no lock always sees a whole one.
/// </summary>
internal sealed unsafe class SectionTable
{
    public static readonly SectionTable Empty = new([], []);

    public readonly BuddySection*[] InOrder;
    public readonly BuddySection*[] ByAddress;

    private SectionTable(BuddySection*[] inOrder, BuddySection*[] byAddress)
    {
        InOrder = inOrder;
        ByAddress = byAddress;
    }

    public int Count => InOrder.Length;

    /// <summary>A new table with <paramref name="added"/> appended.</summary>
    public SectionTable With(BuddySection* added)
    {
        int n = InOrder.Length;
        var inOrder = new BuddySection*[n + 1];
        var byAddress = new BuddySection*[n + 1];
        for (int i = 0; i < n; i++) inOrder[i] = InOrder[i];
        inOrder[n] = added;
        int to = 0;
        bool placed = false;
        for (int i = 0; i < n; i++)
        {
            if (!placed && added->RegionStart < ByAddress[i]->RegionStart) { byAddress[to++] = added; placed = true; }
            byAddress[to++] = ByAddress[i];
        }
        if (!placed) byAddress[to] = added;
        return new SectionTable(inOrder, byAddress);
    }

    /// <summary>The section whose region holds <paramref name="address"/>, or null.</summary>
    public BuddySection* Find(nuint address)
    {
        BuddySection*[] sections = ByAddress;
        int lo = 0, hi = sections.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            BuddySection* s = sections[mid];
            if (address < s->RegionStart) hi = mid - 1;
            else if (address >= s->RegionEnd) lo = mid + 1;
            else return s;
        }
        return null;
    }
}
