using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace BuddySlab.Buffers;

/// <summary>
/// Out-of-line throw sites for the buffer types, so that their span, advance and rent paths stay small enough to
/// inline: each message is formatted only when it is thrown.
/// </summary>
internal static class BufferThrow
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Disposed(string typeName) => throw new ObjectDisposedException(typeName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Disposed(string typeName, string message) => throw new ObjectDisposedException(typeName, message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void OutOfRange(string paramName, long value, string message) =>
        throw new ArgumentOutOfRangeException(paramName, value, message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidOperation(string message) => throw new InvalidOperationException(message);
}
