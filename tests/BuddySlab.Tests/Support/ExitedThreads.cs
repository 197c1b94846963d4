namespace BuddySlab.Tests.Support;

/// <summary>
/// Exited threads' magazines reach their allocator through a finalizer, which can only run once the runtime has
/// released the thread's statics, and that may happen a moment after <see cref="Thread.Join()"/> returns.
/// </summary>
internal static class ExitedThreads
{
    /// <summary>Collects, finalizes and trims until nothing is left allocated, for at most about ten seconds (a loaded
    /// machine can take a while to release an exited thread's statics).</summary>
    public static void RecoverCachesAndTrim(GlobalAllocator a)
    {
        for (int attempt = 0; attempt < 250; attempt++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            a.Trim();
            if (a.AllocatedBytes == 0) return;
            Thread.Sleep(40);
        }
    }
}
