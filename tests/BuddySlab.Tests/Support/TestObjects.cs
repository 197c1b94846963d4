using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Tests.Support;

// The fields only give the types their size and alignment; the tests write them through pointers.
#pragma warning disable CS0649

/// <summary>A 64-byte object: the benchmark size.</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct Obj64
{
    public long First;
}

/// <summary>A 128-byte object: 31 fit a one-page Small slab, so there is one bucket per occupancy.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
internal struct Obj128
{
    public long First;
}

/// <summary>24 bytes, 8-aligned: a stride that is not a power of two.</summary>
internal struct Odd24
{
    public long A, B, C;
}

/// <summary>12 bytes, 4-aligned: padded to a 16-byte stride.</summary>
internal struct Odd12
{
    public int A, B, C;
}

/// <summary>16-byte alignment.</summary>
internal struct Aligned16
{
    public Int128 Value;
    public byte Tag;
}

/// <summary>A large object: a sizeable fraction of a slab.</summary>
[StructLayout(LayoutKind.Sequential, Size = 1000)]
internal struct Big1000
{
    public long First;
}

/// <summary>A very large object.</summary>
[StructLayout(LayoutKind.Sequential, Size = 4000)]
internal struct Big4000
{
    public long First;
}

/// <summary>Fills and checks objects with a pattern derived from an identifier.</summary>
internal static unsafe class Pattern
{
    public static void Write<T>(T* obj, int id) where T : unmanaged
    {
        byte* p = (byte*)obj;
        for (int i = 0; i < sizeof(T); i++)
            p[i] = ByteAt(id, i);
    }

    public static bool Check<T>(T* obj, int id) where T : unmanaged
    {
        byte* p = (byte*)obj;
        for (int i = 0; i < sizeof(T); i++)
        {
            if (p[i] != ByteAt(id, i))
                return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte ByteAt(int id, int i) => (byte)((id * 0x9E3779B1u + (uint)i * 0x85EBCA77u) >> 24);
}
