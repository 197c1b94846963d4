namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// Waits on a thread of its own for a <see cref="ValueTask{TResult}"/> (a pipe's read or flush) without allocating:
/// when the task is not done, one cached continuation sets an event the thread waits on. Meant for pipes whose
/// schedulers are inline, where that continuation runs on the thread that completes the task and does nothing but
/// wake this one, so each side of the pipe stays on its own thread. One per thread; gives up when
/// <see cref="ThreadTeam.Token"/> is cancelled.
/// </summary>
public sealed class BlockingWait(ThreadTeam team)
{
    private readonly ManualResetEventSlim _done = new(false);
    private Action? _signal;

    public T Wait<T>(ValueTask<T> task)
    {
        if (task.IsCompleted) return task.Result;
        _done.Reset();
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_signal ??= () => _done.Set());
        _done.Wait(team.Token);
        return task.Result;
    }
}
