using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Support;

/// <summary>One call the cache made to its backend, with its arguments (unused ones are 0).</summary>
internal readonly record struct BackendCall(string Name, nuint A = 0, nuint B = 0, nuint C = 0)
{
    public override string ToString() => $"{Name}(0x{A:x}, 0x{B:x}, 0x{C:x})";
}

/// <summary>
/// A test backend over <see cref="NativeMemory.AlignedAlloc"/>: records every call (when
/// <see cref="Recording"/> is on), checks each argument against what it handed out, poisons memory it
/// hands out and takes back, and can run out of slabs or slab infos on demand. After warm-up it
/// allocates no managed memory while <see cref="Recording"/> is off.
/// </summary>
internal sealed unsafe class RecordingBackend : ISlabMemoryBackend, IDisposable
{
    private readonly Dictionary<nuint, nuint> _slabs = new(1024);      // base -> size
    private readonly Dictionary<nuint, nuint> _pageToSlab = new(4096); // page -> base
    private readonly Dictionary<nuint, nuint> _infos = new(1024);      // info -> size
    private readonly Dictionary<nuint, nint> _sideTable = new(4096);   // page -> info
    private nuint _pageSize;

    public List<BackendCall> Calls { get; } = new();
    public bool Recording { get; set; } = true;

    /// <summary>Slabs still available; negative means unlimited.</summary>
    public int SlabBudget { get; set; } = -1;

    /// <summary>Slab infos still available; negative means unlimited.</summary>
    public int InfoBudget { get; set; } = -1;

    /// <summary>When positive, the n-th following SaveSlabInfo call throws.</summary>
    public int ThrowOnSave { get; set; }

    public int OutstandingSlabs => _slabs.Count;
    public int OutstandingInfos => _infos.Count;
    public int SavedPages => _sideTable.Count;
    public IEnumerable<nuint> SlabBases => _slabs.Keys;

    /// <summary>The base of the outstanding slab containing <paramref name="address"/>, or 0.</summary>
    public nuint SlabOf(nuint address) =>
        _pageSize != 0 && _pageToSlab.TryGetValue(address & ~(_pageSize - 1), out nuint b) ? b : 0;

    public void* AllocateSlab(nuint slabSize, nuint pageSize)
    {
        Record(new BackendCall(nameof(AllocateSlab), slabSize, pageSize));
        Assert.True(pageSize != 0 && (pageSize & (pageSize - 1)) == 0, $"page size {pageSize}");
        Assert.True(slabSize != 0 && slabSize % pageSize == 0, $"slab size {slabSize}");
        Assert.True(_pageSize == 0 || _pageSize == pageSize);
        _pageSize = pageSize;
        if (SlabBudget == 0)
            return null;
        if (SlabBudget > 0)
            SlabBudget--;
        byte* slab = (byte*)NativeMemory.AlignedAlloc(slabSize, pageSize);
        new Span<byte>(slab, (int)slabSize).Fill(0xCD);
        _slabs.Add((nuint)slab, slabSize);
        for (nuint p = 0; p < slabSize; p += pageSize)
            _pageToSlab.Add((nuint)slab + p, (nuint)slab);
        return slab;
    }

    public void FreeSlab(void* slab, nuint slabSize, nuint pageSize)
    {
        Record(new BackendCall(nameof(FreeSlab), (nuint)slab, slabSize, pageSize));
        Assert.True(_slabs.Remove((nuint)slab, out nuint size), $"FreeSlab of unknown slab 0x{(nuint)slab:x}");
        Assert.Equal(size, slabSize);
        Assert.Equal(_pageSize, pageSize);
        for (nuint p = 0; p < slabSize; p += pageSize)
        {
            Assert.True(_pageToSlab.Remove((nuint)slab + p));
            Assert.False(_sideTable.ContainsKey((nuint)slab + p), "side-table entry outlives its slab");
        }
        new Span<byte>(slab, (int)slabSize).Fill(0xDD);
        NativeMemory.AlignedFree(slab);
    }

    public void* AllocateSlabInfo(nuint infoSize)
    {
        Record(new BackendCall(nameof(AllocateSlabInfo), infoSize));
        if (InfoBudget == 0)
            return null;
        if (InfoBudget > 0)
            InfoBudget--;
        byte* info = (byte*)NativeMemory.AlignedAlloc(infoSize, 8);
        new Span<byte>(info, (int)infoSize).Fill(0xCD);
        _infos.Add((nuint)info, infoSize);
        return info;
    }

    public void FreeSlabInfo(void* slabInfo, nuint infoSize)
    {
        Record(new BackendCall(nameof(FreeSlabInfo), (nuint)slabInfo, infoSize));
        Assert.True(_infos.Remove((nuint)slabInfo, out nuint size), $"FreeSlabInfo of unknown info 0x{(nuint)slabInfo:x}");
        Assert.Equal(size, infoSize);
        new Span<byte>(slabInfo, (int)infoSize).Fill(0xDD);
        NativeMemory.AlignedFree(slabInfo);
    }

    public void SaveSlabInfo(nuint objectPageAddress, void* slabInfo)
    {
        Record(new BackendCall(nameof(SaveSlabInfo), objectPageAddress, (nuint)slabInfo));
        if (ThrowOnSave > 0 && --ThrowOnSave == 0)
            throw new InvalidOperationException("side table full");
        Assert.True(_pageToSlab.ContainsKey(objectPageAddress), $"SaveSlabInfo for page 0x{objectPageAddress:x} of no slab");
        _sideTable[objectPageAddress] = (nint)slabInfo;
    }

    public void* GetSlabInfo(nuint objectPageAddress)
    {
        Record(new BackendCall(nameof(GetSlabInfo), objectPageAddress));
        Assert.True(_pageSize == 0 || (objectPageAddress & (_pageSize - 1)) == 0, $"GetSlabInfo of unaligned 0x{objectPageAddress:x}");
        return _sideTable.TryGetValue(objectPageAddress, out nint info) ? (void*)info : null;
    }

    public void DeleteSlabInfo(nuint objectPageAddress)
    {
        Record(new BackendCall(nameof(DeleteSlabInfo), objectPageAddress));
        _sideTable.Remove(objectPageAddress);
    }

    /// <summary>Frees whatever is still outstanding (only after a test has made its assertions).</summary>
    public void Dispose()
    {
        foreach (nuint slab in _slabs.Keys)
            NativeMemory.AlignedFree((void*)slab);
        foreach (nuint info in _infos.Keys)
            NativeMemory.AlignedFree((void*)info);
        _slabs.Clear();
        _infos.Clear();
        _pageToSlab.Clear();
        _sideTable.Clear();
    }

    private void Record(BackendCall call)
    {
        if (Recording)
            Calls.Add(call);
    }
}
