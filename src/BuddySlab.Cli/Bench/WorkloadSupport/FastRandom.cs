using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// SplitMix64: a tiny deterministic generator the timed loops can afford (a few instructions a number, no
/// tables, no allocation). Seeded the same for every contender, it gives every contender the same sequence.
/// </summary>
public struct FastRandom(ulong seed)
{
    private ulong _state = seed;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A number in <c>[0, bound)</c> (multiply-shift; the bias is far below anything measurable here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextBelow(uint bound) => (uint)(((Next() >> 32) * bound) >> 32);
}

/// <summary>
/// Sizes log-uniform in 8..2048 bytes (as many 8..16 as 1024..2048), the "mixed" sizes of ring-mixed and
/// batch-mixed: a 4096-entry table of quantiles, indexed by random bits, so drawing one costs a load.
/// </summary>
public static class MixedSizes
{
    public const int Min = 8, Max = 2048;
    private const int Entries = 4096;
    private static readonly uint[] Table = Build();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Next(ref FastRandom random) => Table[(int)(random.Next() & (Entries - 1))];

    private static uint[] Build()
    {
        var t = new uint[Entries];
        double lo = Math.Log(Min), hi = Math.Log(Max + 1);
        for (int i = 0; i < Entries; i++)
            t[i] = (uint)Math.Clamp(Math.Floor(Math.Exp(lo + (hi - lo) * (i + 0.5) / Entries)), Min, Max);
        return t;
    }
}
