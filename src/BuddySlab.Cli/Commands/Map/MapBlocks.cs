namespace BuddySlab.Cli.Commands.Map;

/// <summary>
/// The blocks a map workload took from its heap, in the order it took them, and which of them are still live. Every
/// block is touched when taken (one byte per page), so what the pictures call resident is memory the workload used.
/// Each block is freed at most once, through the call that matches how it was taken.
/// </summary>
internal sealed unsafe class MapBlocks(NativeHeap heap)
{
    /// <summary>One block: where it is, what it is, its size in bytes (a page run's pages times the page size).</summary>
    public readonly record struct Block(nint Address, BlockKind Kind, nuint Bytes, bool Live);

    private readonly List<Block> _blocks = [];

    public int Count => _blocks.Count;

    public Block this[int index] => _blocks[index];

    /// <summary>Takes the block <paramref name="request"/> asks for; false when the heap has no room for it.</summary>
    public bool TryAdd(BlockRequest request)
    {
        nuint pageSize = (nuint)heap.Allocator.PageSize;
        nint address;
        if (request.Kind == BlockKind.PageRun)
        {
            if (!heap.Allocator.TryAllocatePages(request.Bytes / pageSize, pageSize, out nuint run)) return false;
            address = (nint)run;
        }
        else
        {
            if (!heap.TryAllocate(request.Bytes, out void* p)) return false;
            address = (nint)p;
        }
        for (nuint offset = 0; offset < request.Bytes; offset += pageSize) ((byte*)address)[offset] = 1;
        _blocks.Add(new Block(address, request.Kind, request.Bytes, Live: true));
        return true;
    }

    /// <summary>Frees block <paramref name="index"/>, which must be live.</summary>
    public void Free(int index)
    {
        Block b = _blocks[index];
        if (!b.Live) throw new InvalidOperationException($"Block {index} was freed already.");
        if (b.Kind == BlockKind.PageRun) heap.Allocator.FreePages((nuint)b.Address, b.Bytes / (nuint)heap.Allocator.PageSize);
        else heap.Free((void*)b.Address, b.Bytes, INativeAllocator.DefaultAlignment(b.Bytes));
        _blocks[index] = b with { Live = false };
    }

    /// <summary>Live blocks of <paramref name="kind"/> and their bytes.</summary>
    public (int Blocks, nuint Bytes) Live(BlockKind kind)
    {
        int count = 0;
        nuint bytes = 0;
        foreach (Block b in _blocks)
            if (b.Live && b.Kind == kind)
            {
                count++;
                bytes += b.Bytes;
            }
        return (count, bytes);
    }
}
