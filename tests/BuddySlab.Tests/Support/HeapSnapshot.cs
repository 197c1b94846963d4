namespace BuddySlab.Tests.Support;

/// <summary>What a heap looks like from outside plus its free lists in order: equal snapshots mean an unchanged heap.</summary>
internal static class HeapSnapshot
{
    public static string Take(BuddyHeap heap)
    {
        heap.CheckInvariants();
        var lists = heap.FreeListOffsets().Select((l, k) => $"{k}:[{string.Join(',', l)}]");
        return $"free={heap.FreeBytes} {string.Join(' ', lists)}";
    }
}
