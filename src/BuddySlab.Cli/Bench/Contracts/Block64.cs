using System.Runtime.InteropServices;

namespace BuddySlab.Cli.Bench.Contracts;

/// <summary>The 64-byte object of <c>object-cache</c>: what <see cref="ObjectCache{T}"/> and <c>new Block64[1]</c> hand out.</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
public struct Block64
{
    public long First;
}
