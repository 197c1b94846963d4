using System.Runtime.ExceptionServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.WorkloadSupport;

/// <summary>
/// Runs a threaded workload's bodies on fresh threads and times them together: the threads start and wait, the
/// clock starts when all are ready and released at once, and stops when the last one has finished, so thread
/// creation is not counted. A body that throws aborts the team (<see cref="Aborted"/>, <see cref="Token"/>) so that
/// partners waiting on it give up instead of hanging; its exception is rethrown on the calling thread.
/// </summary>
public sealed class ThreadTeam
{
    private readonly CancellationTokenSource _abort = new();

    public CancellationToken Token => _abort.Token;
    public bool Aborted => _abort.IsCancellationRequested;

    public Measurement Run(RunContext context, int threads, Action<int> body, long operations, long peakLiveBytes = 0)
    {
        using var ready = new CountdownEvent(threads);
        using var go = new ManualResetEventSlim(false);
        var errors = new Exception?[threads];
        var team = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            int index = i;
            team[i] = new Thread(() =>
            {
                ready.Signal();
                go.Wait();
                try { body(index); }
                catch (Exception e) { errors[index] = e; _abort.Cancel(); }
            }) { IsBackground = true, Name = $"bench worker {i}" };
            team[i].Start();
        }
        ready.Wait();
        long start = context.BeginTimed();
        go.Set();
        foreach (var t in team) t.Join();
        var m = context.EndTimed(start, operations, peakLiveBytes);
        var first = errors.FirstOrDefault(e => e is not null and not OperationCanceledException) ?? errors.FirstOrDefault(e => e != null);
        if (first != null) ExceptionDispatchInfo.Throw(first);
        return m;
    }

    /// <summary>Spins (yielding, never sleeping a whole millisecond) until <paramref name="cell"/> holds
    /// <paramref name="value"/>; throws if the team was aborted meanwhile.</summary>
    public void WaitFor(ref int cell, int value)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref cell) != value)
        {
            spin.SpinOnce(sleep1Threshold: -1);
            if (Aborted) throw new OperationCanceledException(Token);
        }
    }
}
