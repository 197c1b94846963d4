namespace BuddySlab.Os;

/// <summary>Something the <see cref="BackgroundClock"/> calls on an interval.</summary>
internal interface IClockClient
{
    /// <summary>Milliseconds between two calls of <see cref="Tick"/>.</summary>
    long IntervalMilliseconds { get; }

    /// <summary>Called on the clock's thread, one client at a time; must not block for long.</summary>
    void Tick();
}

/// <summary>
/// One background thread for the whole process that calls each registered client's <see cref="IClockClient.Tick"/>
/// once per interval, so that heaps give memory back while nothing calls them. Clients are held weakly: a client that
/// is no longer reachable drops out; the thread ends when none is left and starts again with the next registration.
/// <para><b>Invariants.</b> <c>s_clients</c> and <c>s_thread</c> change only under <c>s_lock</c>; ticks run outside it, so
/// a client may register or unregister (itself or another) from anywhere, including its own tick. A client that throws
/// is left out of that round and ticks again at its next due time.</para>
/// </summary>
internal static class BackgroundClock
{
    private static readonly Lock s_lock = new();
    private static readonly List<Registration> s_clients = [];
    private static readonly AutoResetEvent s_wake = new(false);
    private static Thread? s_thread;

    private sealed class Registration(IClockClient client)
    {
        public readonly WeakReference<IClockClient> Client = new(client);
        public long Due = Environment.TickCount64 + client.IntervalMilliseconds;
    }

    /// <summary>Starts ticking <paramref name="client"/> (again) from now; registering twice keeps one registration.</summary>
    public static void Register(IClockClient client)
    {
        lock (s_lock)
        {
            Registration? found = Find(client);
            if (found is null) s_clients.Add(new Registration(client));
            else found.Due = Environment.TickCount64 + client.IntervalMilliseconds;
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "BuddySlab clock" };
                s_thread.UnsafeStart();
            }
        }
        s_wake.Set();
    }

    /// <summary>Stops ticking <paramref name="client"/>; a tick already running finishes.</summary>
    public static void Unregister(IClockClient client)
    {
        lock (s_lock)
        {
            Registration? found = Find(client);
            if (found is not null) s_clients.Remove(found);
        }
    }

    /// <summary>Before <c>fork</c>: takes the clock's lock, so the child finds it free.</summary>
    public static void LockForFork() => s_lock.Enter();

    /// <summary>After <c>fork</c>: lets go of the lock; in the child, where the clock's thread does not exist, starts a
    /// new one for the registered clients.</summary>
    public static void UnlockAfterFork(bool child)
    {
        if (child && s_thread is not null)
        {
            s_thread = new Thread(Run) { IsBackground = true, Name = "BuddySlab clock" };
            s_thread.UnsafeStart();
        }
        s_lock.Exit();
    }

    /// <summary>True while <paramref name="client"/> is registered (for tests).</summary>
    internal static bool IsRegistered(IClockClient client)
    {
        lock (s_lock) return Find(client) is not null;
    }

    private static Registration? Find(IClockClient client)
    {
        foreach (Registration r in s_clients)
            if (r.Client.TryGetTarget(out IClockClient? c) && ReferenceEquals(c, client)) return r;
        return null;
    }

    private static void Run()
    {
        var due = new List<IClockClient>();
        while (true)
        {
            long wait;
            lock (s_lock)
            {
                long now = Environment.TickCount64;
                wait = long.MaxValue;
                due.Clear();
                for (int i = s_clients.Count - 1; i >= 0; i--)
                {
                    Registration r = s_clients[i];
                    if (!r.Client.TryGetTarget(out IClockClient? client))
                    {
                        s_clients.RemoveAt(i);
                        continue;
                    }
                    long interval = Math.Max(1, client.IntervalMilliseconds);
                    if (now >= r.Due)
                    {
                        due.Add(client);
                        r.Due = now + interval;
                    }
                    wait = Math.Min(wait, r.Due - now);
                }
                if (s_clients.Count == 0)
                {
                    s_thread = null;
                    return;
                }
            }
            foreach (IClockClient client in due)
            {
                try { client.Tick(); }
                catch (Exception) { }           // a failing client must not stop the others' clock
            }
            due.Clear();
            if (wait > 0) s_wake.WaitOne((int)Math.Min(wait, int.MaxValue));
        }
    }
}
