using System.Runtime.CompilerServices;

namespace BuddySlab.Cli.Commands.Stress;

/// <summary>
/// One live block of the stress run: where it is, the size and alignment it was asked with (0: <c>Allocate(size)</c>),
/// its heap, and its tag. Every byte of the block is a function of the tag and its offset (<see cref="Fill"/>), so
/// <see cref="FirstMismatch"/> checks all of it against what was written, as an exact checksum would, and also finds
/// where it went wrong. Tags are unique over the run, so two live blocks that share bytes cannot both check.
/// </summary>
public readonly unsafe record struct StressBlock(nint Pointer, nuint Size, nuint Alignment, ulong Tag, HeapSlot Slot)
{
    private const ulong Step = 0x9E3779B97F4A7C15;

    /// <summary>The alignment a sized free of this block passes.</summary>
    public nuint FreeAlignment => Alignment != 0 ? Alignment : INativeAllocator.DefaultAlignment(Size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Word(ulong tag, nuint index) => (tag + index) * Step ^ tag;

    /// <summary>Writes the pattern of <paramref name="tag"/> over <paramref name="size"/> bytes at <paramref name="p"/>.</summary>
    public static void Fill(byte* p, nuint size, ulong tag)
    {
        nuint words = size / 8;
        for (nuint i = 0; i < words; i++) Unsafe.WriteUnaligned(p + i * 8, Word(tag, i));
        ulong last = Word(tag, words);
        for (nuint k = words * 8; k < size; k++) p[k] = (byte)(last >> (int)(8 * (k & 7)));
    }

    /// <summary>The offset of the first of the first <paramref name="length"/> bytes that is not the pattern of
    /// <paramref name="tag"/>, or -1 when all are.</summary>
    public static long FirstMismatch(byte* p, nuint length, ulong tag)
    {
        nuint words = length / 8;
        for (nuint i = 0; i < words; i++)
            if (Unsafe.ReadUnaligned<ulong>(p + i * 8) != Word(tag, i))
                for (nuint k = i * 8; ; k++)
                    if (p[k] != (byte)(Word(tag, i) >> (int)(8 * (k & 7)))) return (long)k;
        ulong last = Word(tag, words);
        for (nuint k = words * 8; k < length; k++)
            if (p[k] != (byte)(last >> (int)(8 * (k & 7)))) return (long)k;
        return -1;
    }
}
