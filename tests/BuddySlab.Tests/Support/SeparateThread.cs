namespace BuddySlab.Tests.Support;

/// <summary>Runs a test's body on a thread of its own (a thread with no cache yet, or one that may hang), and reports
/// whether it ended in time and what it threw.</summary>
internal static class SeparateThread
{
    /// <summary>Runs <paramref name="body"/> on a new background thread and waits for it at most
    /// <paramref name="timeout"/>: true when it ended; <paramref name="failure"/> is what it threw, if anything.</summary>
    public static bool Run(Action body, TimeSpan timeout, out Exception? failure)
    {
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            try { body(); }
            catch (Exception e) { thrown = e; }
        }) { IsBackground = true };
        thread.Start();
        bool ended = thread.Join(timeout);
        failure = thrown;
        return ended;
    }
}
