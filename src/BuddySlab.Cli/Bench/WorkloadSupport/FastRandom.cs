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
