namespace BuddySlab;

/// <summary>
/// A set of objects held weakly, for readers that must not keep them alive (the metrics' list of heaps and pools): an
/// object that becomes unreachable without being removed drops out at the next change.
/// <para><b>Invariants.</b> The array is replaced whole under the lock on every change and never written afterwards, so
/// <see cref="Live"/> reads it without any lock and always sees a whole one.</para>
/// </summary>
internal sealed class WeakRegistry<T> where T : class
{
    private readonly Lock _lock = new();
    private WeakReference<T>[] _items = [];

    /// <summary>Adds <paramref name="item"/> (once).</summary>
    public void Add(T item)
    {
        lock (_lock)
        {
            var kept = new List<WeakReference<T>>(_items.Length + 1);
            foreach (WeakReference<T> r in _items)
                if (r.TryGetTarget(out T? target) && !ReferenceEquals(target, item)) kept.Add(r);
            kept.Add(new WeakReference<T>(item));
            Volatile.Write(ref _items, kept.ToArray());
        }
    }

    /// <summary>Removes <paramref name="item"/>, if present.</summary>
    public void Remove(T item)
    {
        lock (_lock)
        {
            var kept = new List<WeakReference<T>>(_items.Length);
            foreach (WeakReference<T> r in _items)
                if (r.TryGetTarget(out T? target) && !ReferenceEquals(target, item)) kept.Add(r);
            Volatile.Write(ref _items, kept.ToArray());
        }
    }

    /// <summary>The objects still registered and alive, in the order they were added; takes no lock.</summary>
    public List<T> Live()
    {
        WeakReference<T>[] items = Volatile.Read(ref _items);
        var live = new List<T>(items.Length);
        foreach (WeakReference<T> r in items)
            if (r.TryGetTarget(out T? target)) live.Add(target);
        return live;
    }
}
