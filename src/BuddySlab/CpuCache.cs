using BuddySlab.Slab;

namespace BuddySlab;

/// <summary>
/// One CPU's share of a <see cref="GlobalAllocator"/>: its slab allocator and the lock that guards it. The lock
/// is held only for the few instructions of a slab operation, never while the buddy lock is taken.
/// </summary>
internal sealed class CpuCache(int pageSize, int cpu)
{
    public BackoffLock Lock;
    public readonly SlabAllocator Slabs = new(pageSize, cpu);
}
