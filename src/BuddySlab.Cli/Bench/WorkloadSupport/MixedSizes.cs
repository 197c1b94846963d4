using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

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
