using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Buffers;

/// <summary>
/// A pool's count of blocks out and their bytes, striped by CPU: a rent or a return adds to the slot of the CPU it runs
/// on, so a thread that rents and another that returns on another CPU never write the same cache line. A read sums
/// every slot.
/// <para>Invariants: each slot is changed only by atomic adds, so no update is lost whichever CPU a thread moves to
/// between its rent and its return; a slot may go negative (a block rented on one CPU and returned on another) but the
/// sums never do once every add has landed. The sums are exact whenever no rent or return is under way; while some
/// are, a read may miss the ones not yet added, as two separate counters would.</para>
/// </summary>
internal sealed class RentalCounters
{
    private readonly Slot[] _slots;
    private readonly int _mask;

    public RentalCounters()
    {
        int stripes = (int)Math.Min(64, BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount));
        _slots = new Slot[stripes];
        _mask = stripes - 1;
    }

    /// <summary>Counts one block of <paramref name="bytes"/> out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Rented(int bytes)
    {
        ref Slot slot = ref Mine;
        Interlocked.Increment(ref slot.Count);
        Interlocked.Add(ref slot.Bytes, bytes);
    }

    /// <summary>Counts one block of <paramref name="bytes"/> back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Returned(int bytes)
    {
        ref Slot slot = ref Mine;
        Interlocked.Decrement(ref slot.Count);
        Interlocked.Add(ref slot.Bytes, -bytes);
    }

    /// <summary>Blocks out, over every slot.</summary>
    public int Count
    {
        get
        {
            long sum = 0;
            foreach (ref Slot slot in _slots.AsSpan()) sum += Volatile.Read(ref slot.Count);
            return (int)sum;
        }
    }

    /// <summary>Bytes of the blocks out, over every slot.</summary>
    public long Bytes
    {
        get
        {
            long sum = 0;
            foreach (ref Slot slot in _slots.AsSpan()) sum += Volatile.Read(ref slot.Bytes);
            return sum;
        }
    }

    private ref Slot Mine
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _slots[Thread.GetCurrentProcessorId() & _mask];
    }

    /// <summary>One CPU's counts, alone on its cache line (and the next, against adjacent-line prefetch).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Slot
    {
        [FieldOffset(0)] public long Count;
        [FieldOffset(8)] public long Bytes;
    }
}
