using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// Sizes log-uniform in a range (as many in the lowest octave as in the highest), drawn from a 4096-entry table of
/// quantiles indexed by random bits: one load a size. <see cref="MixedSizes"/> is the fixed 8..2048 case the older
/// workloads keep in a static table; this is the same rule for the ranges of the buffer and heap workloads.
/// </summary>
public sealed class SizeTable
{
    private const int Entries = 4096;
    private readonly uint[] _table = new uint[Entries];

    public SizeTable(uint min, uint max)
    {
        Min = min;
        Max = max;
        double lo = Math.Log(min), hi = Math.Log(max + 1.0);
        for (int i = 0; i < Entries; i++)
            _table[i] = (uint)Math.Clamp(Math.Floor(Math.Exp(lo + (hi - lo) * (i + 0.5) / Entries)), min, max);
    }

    public uint Min { get; }
    public uint Max { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Next(ref FastRandom random) => _table[(int)(random.Next() & (Entries - 1))];
}
