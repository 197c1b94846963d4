namespace BuddySlab.Sample;

/// <summary>
/// <see cref="ObjectCache{T}"/> for one unmanaged type: a thousand particles in slabs of the shared heap's pages,
/// each written and read back, all freed, and the cache's statistics exact before and after.
/// </summary>
internal static unsafe class ParticleCache
{
    private struct Particle
    {
        public double X, Y, Vx, Vy;
    }

    private const int Count = 1000;

    public static void Run(Checks checks)
    {
        Console.WriteLine("ObjectCache<Particle>");
        using var cache = new ObjectCache<Particle>();
        var live = new nint[Count];
        for (int i = 0; i < Count; i++)
        {
            Particle* p = cache.Allocate();
            *p = new Particle { X = i, Y = -i, Vx = 1, Vy = 0.5 };
            live[i] = (nint)p;
        }

        ObjectCacheStatistics full = cache.Statistics;
        checks.Equal("objects in use", (nuint)Count, full.AllocatedObjects);
        checks.Equal("object size", (nuint)sizeof(Particle), full.ObjectSize);

        bool intact = true;
        for (int i = 0; i < Count; i++)
            intact &= ((Particle*)live[i])->X == i && ((Particle*)live[i])->Y == -i;
        checks.True("every particle reads back what was written", intact);

        // A double free is refused while the slab is still held (its neighbours are live) and changes nothing.
        cache.Free((Particle*)live[0]);
        checks.Refused("a second free of a particle", AllocError.NotAllocated, () => cache.Free((Particle*)live[0]));
        checks.Equal("objects in use after one free", (nuint)(Count - 1), cache.Statistics.AllocatedObjects);

        for (int i = 1; i < Count; i++) cache.Free((Particle*)live[i]);
        checks.Equal("objects in use after freeing all", (nuint)0, cache.Statistics.AllocatedObjects);
    }
}
