using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// What the heap workloads (<c>idle</c>, <c>threads-exit</c>) allocate: mostly small objects (log-uniform 8..2048 B,
/// slab classes) with one block in <see cref="LargeEvery"/> a page run of 4 KiB..1 MiB (log-uniform), about half the
/// bytes in each; and how they write them: the stamp of every workload plus one byte in every page, so a block is
/// resident whole, as a program's data would be.
/// </summary>
public static unsafe class HeapBlocks
{
    public const int LargeEvery = 512;
    private static readonly SizeTable Large = new(4096, 1 << 20);

    public static uint NextSize(ref FastRandom random) =>
        random.NextBelow(LargeEvery) == 0 ? Large.Next(ref random) : MixedSizes.Next(ref random);

    public static void Write(byte* p, uint size, uint tag)
    {
        Stamp.Write(ref *p, size, tag);
        for (uint offset = 4096; offset + 4 < size; offset += 4096) p[offset] = (byte)tag;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(byte* p, uint size, uint tag) => Stamp.Check(ref *p, size, tag);
}
