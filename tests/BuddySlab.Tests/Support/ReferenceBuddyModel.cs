namespace BuddySlab.Tests.Support;

/// <summary>
/// The placement oracle: the reference crate's algorithm restated over managed lists of offsets. Each list is
/// LIFO with its head at the end; removal searches the list, as the reference's singly linked lists do.
/// </summary>
internal sealed class ReferenceBuddyModel
{
    private readonly List<nuint>[] _lists;
    private readonly nuint _minBlock;

    public ReferenceBuddyModel(nuint heapSize, int orders)
    {
        _minBlock = heapSize >> (orders - 1);
        _lists = new List<nuint>[orders];
        for (int k = 0; k < orders; k++)
            _lists[k] = new List<nuint>();
        _lists[orders - 1].Add(0);
    }

    private int Top => _lists.Length - 1;

    /// <summary>Offset of the block of <paramref name="order"/> the reference would hand out, or null when exhausted.</summary>
    public nuint? Allocate(int order)
    {
        for (int k = order; k <= Top; k++)
        {
            var list = _lists[k];
            if (list.Count == 0)
                continue;
            nuint block = list[^1];
            list.RemoveAt(list.Count - 1);
            for (int j = k - 1; j >= order; j--)
                _lists[j].Add(block + (_minBlock << j));
            return block;
        }
        return null;
    }

    public void Free(nuint offset, int order)
    {
        for (int k = order; k < Top; k++)
        {
            nuint buddy = offset ^ (_minBlock << k);
            int at = _lists[k].LastIndexOf(buddy);
            if (at < 0)
                break;
            _lists[k].RemoveAt(at);
            offset = Math.Min(offset, buddy);
            order = k + 1;
        }
        _lists[order].Add(offset);
    }

    /// <summary>The lists head first, in the shape of <c>BuddyHeap.FreeListOffsets</c>.</summary>
    public List<nuint>[] Snapshot() =>
        _lists.Select(l => Enumerable.Reverse(l).ToList()).ToArray();
}
