using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// The few libc calls the library makes itself. They are linked straight to libc (<c>DirectPInvoke</c> in the project),
/// so none of them looks a library up, or allocates, from inside a <c>malloc</c>.
/// </summary>
internal static unsafe partial class Libc
{
    private const int StandardError = 2;

    /// <summary>Writes <paramref name="text"/> to standard error in one <c>write</c> (a line at a time, unbuffered).</summary>
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

    /// <summary>Ends the process with SIGABRT, as glibc does on a corrupted heap.</summary>
    [LibraryImport("libc", EntryPoint = "abort")]
    public static partial void Abort();

    [LibraryImport("libc", EntryPoint = "write")]
    private static partial nint Write(int fd, byte* buffer, nuint count);
}
