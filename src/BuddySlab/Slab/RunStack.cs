using System.Runtime.InteropServices;

namespace BuddySlab.Slab;

/// <summary>
/// One thread's free page runs of one length (1 to <see cref="MaxPages"/> pages): the magazine of the page path. A
/// thread that frees a small page run pushes it here and its next allocation of that length pops it, with no lock;
/// a full stack hands its older half to the CPU's page cache, an empty one takes up to half a stack from there, each
/// in one locked step.
/// <para>Invariants: only its thread touches it (or the allocator, once the thread has exited); every run on it is
/// live in the buddy with its head record marked cached, so a second free of it is refused, and it counts as
/// allocated until flushed. At most <see cref="Capacity"/> runs per length: 160 KiB a thread with 4 KiB pages.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RunStack
{
    public const int MaxPages = 4;
    public const int Capacity = 8;

    public int Count;
    public fixed ulong Items[Capacity];

    public static RunStack* CreateSet()
    {
        var set = (RunStack*)NativeMemory.AllocZeroed((nuint)(MaxPages * sizeof(RunStack)));
        return set;
    }

    public static void DestroySet(RunStack* set) => NativeMemory.Free(set);
}
