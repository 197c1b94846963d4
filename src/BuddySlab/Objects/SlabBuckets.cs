using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BuddySlab.Objects;

/// <summary>
/// The partially used slabs of a cache, grouped into <see cref="Count"/> doubly linked buckets by how many
/// objects they have handed out, with a bit mask of the non-empty buckets. Finding the fullest
/// non-empty bucket is one leading-zero count, and moving a slab between buckets is a constant number
/// of link updates, so allocation prefers fuller slabs without walking any list.
/// </summary>
internal unsafe struct SlabBuckets
{
    /// <summary>Number of buckets; one bit each in the mask.</summary>
    public const int Count = 32;

    private HeadArray _heads;
    private uint _nonEmpty;

    /// <summary>True when no slab is in any bucket.</summary>
    public readonly bool IsEmpty
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _nonEmpty == 0;
    }

    /// <summary>The first slab of the highest non-empty bucket. Only valid when not <see cref="IsEmpty"/>.</summary>
    public SlabInfo* Fullest
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (SlabInfo*)Head(Count - 1 - BitOperations.LeadingZeroCount(_nonEmpty));
    }

    /// <summary>The bucket for a partial slab with <paramref name="allocated"/> objects out, under the cache's
    /// <paramref name="shift"/> (see <see cref="ShiftFor"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BucketOf(uint allocated, int shift) => (int)(allocated >> shift);

    /// <summary>
    /// The smallest shift that maps every partial count (1 to <paramref name="objectsPerSlab"/> - 1) to a
    /// bucket below <see cref="Count"/>. Zero (one bucket per count) for slabs of up to 32 objects.
    /// </summary>
    public static int ShiftFor(nuint objectsPerSlab)
    {
        int shift = 0;
        while (((objectsPerSlab - 1) >> shift) >= Count)
            shift++;
        return shift;
    }

    /// <summary>Puts <paramref name="slab"/> first in <paramref name="bucket"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(SlabInfo* slab, int bucket)
    {
        ref nint head = ref Head(bucket);
        SlabInfo* first = (SlabInfo*)head;
        slab->Previous = null;
        slab->Next = first;
        if (first != null)
            first->Previous = slab;
        head = (nint)slab;
        _nonEmpty |= 1u << bucket;
    }

    /// <summary>Unlinks <paramref name="slab"/> from <paramref name="bucket"/>, where it must be.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(SlabInfo* slab, int bucket)
    {
        ref nint head = ref Head(bucket);
        SlabInfo* previous = slab->Previous, next = slab->Next;
        if (previous != null)
            previous->Next = next;
        else
            head = (nint)next;
        if (next != null)
            next->Previous = previous;
        if (head == 0)
            _nonEmpty &= ~(1u << bucket);
        slab->Previous = null;
        slab->Next = null;
    }

    /// <summary>Forgets every slab (their links are left as they are).</summary>
    public void Clear()
    {
        _heads = default;
        _nonEmpty = 0;
    }

    [UnscopedRef, MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref nint Head(int bucket) => ref Unsafe.Add(ref _heads.First, bucket);

    [InlineArray(Count)]
    private struct HeadArray
    {
        public nint First;
    }
}
