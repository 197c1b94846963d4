using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// The one libc call the library makes itself, linked straight to libc (<c>DirectPInvoke</c> in the project), so it
/// never looks a library up, or allocates, from inside a <c>malloc</c>.
/// </summary>
internal static unsafe partial class Libc
{
    private const int StandardError = 2;

    /// <summary>Writes <paramref name="text"/> to standard error with <c>write</c>, unbuffered; gives up quietly when
    /// standard error is closed.</summary>
    public static void WriteError(string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* start = bytes)
        {
            nint done = 0;
            while (done < bytes.Length)
            {
                nint n = Write(StandardError, start + done, (nuint)(bytes.Length - done));
                if (n <= 0) return;
                done += n;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "write")]
    private static partial nint Write(int fd, byte* buffer, nuint count);
}
