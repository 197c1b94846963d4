using System.Runtime.CompilerServices;

namespace BuddySlab.Malloc;

/// <summary>
/// Does the runtime's lazy start-up work on the thread that loads the library, before the heap starts its clock thread
/// and before the program runs: work that two threads must not do for the first time at once.
/// <para>The first contended <see cref="Lock"/> of the process initializes the lock's statics, which reads the
/// environment and so runs class constructors; class constructors take locks. When a second thread (the heap's clock,
/// any thread of the program) contends a lock while the first is inside those class constructors, the runtime's
/// cycle detection hands one of them a type whose statics are not built yet, and that thread dies of a null
/// reference: an abort with no message, seen in a few of every hundred shell commands before this ran. Done here,
/// alone, the initialization needs no class constructor later, whichever threads contend first.</para>
/// <para>The lock's statics are reached through <see cref="UnsafeAccessorAttribute"/> by their private name; a runtime
/// that renamed them leaves the class constructors warmed only (the window is then smaller, not closed), which the
/// shell loop of <c>tests/malloc/run.sh</c> would show.</para>
/// </summary>
internal static class RuntimePrimer
{
    public static void Prime()
    {
        // What Lock's statics read: an AppContext switch and an environment variable (UTF-8 marshalling, AppContext).
        _ = AppContext.GetData("System.Threading.Lock.SpinCount");
        _ = Environment.GetEnvironmentVariable("DOTNET_Lock_SpinCount");
        _ = Environment.ProcessorCount;
        try
        {
            // False while the runtime's event source is half built: a second call finishes.
            for (int attempt = 0; attempt < 3 && !InitializeLockStatics(null); attempt++) { }
        }
        catch (MissingMethodException)
        {
        }
        // The heap's metrics, where they are on, read the assembly's attributes (reflection, its own class constructors)
        // when the first heap is made, after the clock thread has started: run them now. This library turns them off
        // (BuddySlab.Metrics.IsSupported in the project), so nothing runs and the meter's code is not in the binary.
        HeapMetrics.Prepare();
    }

    [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "TryInitializeStatics")]
    private static extern bool InitializeLockStatics(Lock? declaringType);
}
