using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Os;

/// <summary>
/// A short spin lock: one compare-and-swap to enter when free, a plain release store to leave. A contended
/// enter backs off with <see cref="SpinWait"/> (spinning, then yielding, then sleeping), so a preempted holder
/// gets the CPU back. It never allocates. Padded to two cache lines so neighbouring locks never share one.
/// Not reentrant. <c>using (x.Hold()) { … }</c> enters and leaves it around a block, as try/finally would.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct BackoffLock
{
    [FieldOffset(64)] private int _held;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enter()
    {
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0) EnterContended();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit() => Volatile.Write(ref _held, 0);

    /// <summary>Enters the lock if it is free right now; false (and nothing held) otherwise.</summary>
    public bool TryEnter() => Volatile.Read(ref _held) == 0 && Interlocked.CompareExchange(ref _held, 1, 0) == 0;

    /// <summary>Enters the lock and answers a scope whose <c>Dispose</c> leaves it.</summary>
    [UnscopedRef, MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Scope Hold()
    {
        Enter();
        return new Scope(ref this);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterContended()
    {
        var spin = new SpinWait();
        do
        {
            spin.SpinOnce();
        } while (Volatile.Read(ref _held) != 0 || Interlocked.CompareExchange(ref _held, 1, 0) != 0);
    }

    /// <summary>A held <see cref="BackoffLock"/>, left on <see cref="Dispose"/>.</summary>
    public readonly ref struct Scope
    {
        private readonly ref BackoffLock _lock;

        internal Scope(ref BackoffLock held) => _lock = ref held;

        public void Dispose() => _lock.Exit();
    }
}
