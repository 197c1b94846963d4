using BuddySlab.Diagnostics;

namespace BuddySlab.Slab;

/// <summary>
/// Freeing an object on a CPU that does not own its slab: lock-free, touching only the slab's remote fields.
/// <para>Order matters, because the owner may release the slab as soon as it has drained every object:</para>
/// <list type="number">
/// <item>set the object's remote bit (atomically; already set means a double free, and nothing changes);</item>
/// <item>count the object in <see cref="SlabHeader.RemoteCount"/> before it is visible, so an owner that drains
/// early sees a positive count left and keeps the slab;</item>
/// <item>push the object on the slab's remote list;</item>
/// <item>if the count went from 0 to 1, push the slab on its owner's pending stack for the class. The slab was
/// on no pending stack (the count only returns to 0 in a drain, which first takes the stack), and the owner
/// cannot see the object until this push, so the slab stays alive until then.</item>
/// </list>
/// After its last compare-and-swap the freer never touches the slab again.
/// </summary>
internal static unsafe class RemoteFree
{
    public static void Push(SlabHeader* s, nuint address, nuint cookie)
    {
        int index = SlabHeader.IndexOf(s, address);
        if (index < 0) ThrowHelper.FreeError(FreeError.NotAnObject, address);
        if ((SlabHeader.FreeBits(s)[index >> 6] & (1ul << index)) != 0) ThrowHelper.DoubleFree(address);
        ulong mask = 1ul << index;
        if ((Interlocked.Or(ref SlabHeader.RemoteBits(s)[index >> 6], mask) & mask) != 0) ThrowHelper.DoubleFree(address);

        bool first = Interlocked.Increment(ref s->RemoteCount) == 1;
        *(nuint*)address = address ^ cookie;                 // the free mark (overwritten by the link in 8-byte slabs)
        ref nuint link = ref SlabHeader.LinkOf(s, address);
        nuint head;
        do
        {
            head = Volatile.Read(ref s->RemoteHead);
            link = head;
        } while (Interlocked.CompareExchange(ref s->RemoteHead, address, head) != head);

        if (first) PushPending(s);
    }

    /// <summary>
    /// Frees a batch of objects of one slab at once: the objects are already linked from <paramref name="head"/> to
    /// <paramref name="tail"/> through <see cref="SlabHeader.LinkOf"/>, validated and marked free. One count update and one compare-and-swap
    /// hand them all to the owner, which is notified at most once.
    /// </summary>
    public static void PushChain(SlabHeader* s, nuint head, nuint tail, int count, nuint cookie)
    {
        // Mark the objects as waiting, one atomic OR per bitmap word rather than per object.
        ulong* remote = SlabHeader.RemoteBits(s);
        int word = -1;
        ulong mask = 0;
        for (nuint a = head; ; a = SlabHeader.LinkOf(s, a))
        {
            int index = SlabHeader.IndexOf(s, a);
            if (index >> 6 != word)
            {
                if (mask != 0) Interlocked.Or(ref remote[word], mask);
                word = index >> 6;
                mask = 0;
            }
            mask |= 1ul << index;
            if (a == tail) break;
        }
        Interlocked.Or(ref remote[word], mask);
        // Only now the plain free mark (the objects came with the transit mark): a free that finds it also finds the bits.
        if (s->ObjectSize >= 16)
            for (nuint a = head; ; a = SlabHeader.LinkOf(s, a))
            {
                Volatile.Write(ref *(nuint*)a, a ^ cookie);
                if (a == tail) break;
            }
        bool first = Interlocked.Add(ref s->RemoteCount, count) == count;
        nuint old;
        do
        {
            old = Volatile.Read(ref s->RemoteHead);
            SlabHeader.LinkOf(s, tail) = old;
        } while (Interlocked.CompareExchange(ref s->RemoteHead, head, old) != old);
        if (first) PushPending(s);
    }

    /// <summary>Sets the remote bit of an object about to join a chain for <see cref="PushChain"/> (which sets it again,
    /// harmlessly): for objects whose first word is about to become their link, so a free that reads that word sees the
    /// bit instead.</summary>
    public static void MarkPending(SlabHeader* s, nuint address)
    {
        int index = SlabHeader.KnownIndexOf(s, address);
        Interlocked.Or(ref SlabHeader.RemoteBits(s)[index >> 6], 1ul << index);
    }

    /// <summary>Puts <paramref name="s"/> on its owner's pending stack for its class.</summary>
    public static void PushPending(SlabHeader* s)
    {
        nint* stack = s->OwnerPending + s->ClassIndex;
        nint head;
        do
        {
            head = Volatile.Read(ref *stack);
            s->PendingNext = (SlabHeader*)head;
        } while (Interlocked.CompareExchange(ref *stack, (nint)s, head) != head);
    }
}
