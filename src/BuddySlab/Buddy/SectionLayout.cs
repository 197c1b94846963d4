using BuddySlab.Os;

namespace BuddySlab.Buddy;

/// <summary>
/// Where a region's metadata and pages go. A region is laid out as
/// <c>[pad to 8][BuddySection header][PageRecord × pages][pad to page][page 0][page 1]…</c>:
/// the page count is the largest for which the header, one record per page and the padding to the
/// first page boundary all fit in front of the pages.
/// </summary>
internal readonly unsafe struct SectionLayout
{
    /// <summary>Page indices are 32-bit and <see cref="PageRecord.None"/> is reserved.</summary>
    public const uint MaxPages = uint.MaxValue - 1;

    public readonly nuint Header;
    public readonly nuint Records;
    public readonly nuint FirstPage;
    public readonly uint PageCount;

    private SectionLayout(nuint header, nuint records, nuint firstPage, uint pageCount)
    {
        Header = header;
        Records = records;
        FirstPage = firstPage;
        PageCount = pageCount;
    }

    /// <summary>Lays out <c>[start, start + size)</c>; false when not even one page fits.</summary>
    public static bool TryCompute(nuint start, nuint size, int pageShift, out SectionLayout layout)
    {
        layout = default;
        nuint pageSize = (nuint)1 << pageShift;
        nuint end = start + size;
        if (end < start) return false;
        nuint header = AddressMath.AlignUp(start, 8);
        nuint records = header + (nuint)sizeof(BuddySection);
        if (header < start || records < header || records >= end) return false;

        // An upper bound on the page count; the padding to a page boundary can cost at most one or two pages less.
        nuint pages = (end - records) / (pageSize + (nuint)sizeof(PageRecord));
        if (pages > MaxPages) pages = MaxPages;
        while (pages > 0)
        {
            nuint firstPage = AddressMath.AlignUp(records + pages * (nuint)sizeof(PageRecord), pageSize);
            if (firstPage != 0 && firstPage <= end && (end - firstPage) >> pageShift >= pages)
            {
                layout = new SectionLayout(header, records, firstPage, (uint)pages);
                return true;
            }
            pages--;
        }
        return false;
    }
}
