using System.Runtime.InteropServices;

namespace BuddySlab.Cli.Bench.Native;

/// <summary>
/// Loads the optional native allocators with <see cref="NativeLibrary"/> (dlopen, local symbols: they do not
/// replace the process's malloc) and resolves their exports. A library that is not installed or cannot be
/// loaded leaves its exports null and a note saying why; the contender is then skipped.
/// <para>
/// jemalloc uses initial-exec TLS, which dlopen can only place in glibc's small static-TLS surplus; the .NET
/// runtime already uses most of it, so dlopen fails with "cannot allocate memory in static TLS block" unless the
/// process was started with <see cref="TlsTunable"/> in <c>GLIBC_TUNABLES</c>. <see cref="JemallocNeedsTunable"/>
/// reports that case, and the bench command restarts itself with the variable set (see <c>SelfProcess</c>).
/// </para>
/// </summary>
public sealed class NativeLibraries
{
    public const string MimallocLibrary = "libmimalloc.so.2";
    public const string JemallocLibrary = "libjemalloc.so.2";
    public const string TlsTunable = "glibc.rtld.optional_static_tls=16384";
    public const string InstallHint = "apt-get install -y libmimalloc2.0 libjemalloc2";

    public MimallocExports? Mimalloc { get; private init; }
    public JemallocExports? Jemalloc { get; private init; }
    /// <summary>Why mimalloc's contenders cannot run in this process (not asked for, not installed, failed to load), or null.</summary>
    public string? MimallocUnavailable => Mimalloc == null ? MimallocNote ?? "not loaded" : null;
    /// <summary>Why jemalloc's contenders cannot run in this process (not asked for, not installed, failed to load), or null.</summary>
    public string? JemallocUnavailable => Jemalloc == null ? JemallocNote ?? "not loaded" : null;
    /// <summary>jemalloc is installed but failed to load for lack of static TLS: a restart with the tunable fixes it.</summary>
    public bool JemallocNeedsTunable { get; private init; }

    /// <summary>No library loaded: every optional contender unavailable.</summary>
    public static NativeLibraries None { get; } = new();

    private string? MimallocNote { get; init; }
    private string? JemallocNote { get; init; }

    /// <summary>True when this process was started with the static-TLS tunable.</summary>
    public static bool HasTlsTunable =>
        (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains("optional_static_tls", StringComparison.Ordinal);

    public static NativeLibraries Load(bool mimalloc, bool jemalloc)
    {
        MimallocExports? mi = null; JemallocExports? je = null;
        string? miNote = null, jeNote = null;
        bool needsTunable = false;
        if (mimalloc) mi = LoadMimalloc(out miNote);
        if (jemalloc) je = LoadJemalloc(out jeNote, out needsTunable);
        return new NativeLibraries { Mimalloc = mi, Jemalloc = je, MimallocNote = miNote, JemallocNote = jeNote, JemallocNeedsTunable = needsTunable };
    }

    private static unsafe MimallocExports? LoadMimalloc(out string? note)
    {
        if (!TryOpen(MimallocLibrary, out nint lib, out note)) return null;
        if (!TryExport(lib, out note, out nint malloc, "mi_malloc") || !TryExport(lib, out note, out nint free, "mi_free")
            || !TryExport(lib, out note, out nint aligned, "mi_malloc_aligned"))
            return null;
        return new MimallocExports
        {
            Malloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*>)malloc,
            Free = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void>)free,
            MallocAligned = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*>)aligned,
        };
    }

    private static unsafe JemallocExports? LoadJemalloc(out string? note, out bool needsTunable)
    {
        needsTunable = false;
        if (!TryOpen(JemallocLibrary, out nint lib, out note))
        {
            needsTunable = note != null && note.Contains("static TLS", StringComparison.Ordinal) && !HasTlsTunable;
            if (needsTunable) note = $"{JemallocLibrary} needs GLIBC_TUNABLES={TlsTunable} to be loaded by a .NET process";
            return null;
        }
        // dlsym on the library's own handle finds its symbols first, so plain "malloc" is jemalloc's, not glibc's.
        if (!TryExport(lib, out note, out nint malloc, "je_malloc", "malloc") || !TryExport(lib, out note, out nint free, "je_free", "free")
            || !TryExport(lib, out note, out nint aligned, "je_aligned_alloc", "aligned_alloc"))
            return null;
        if (NativeLibrary.TryLoad("libc.so.6", out nint libc) && NativeLibrary.TryGetExport(libc, "malloc", out nint glibcMalloc) && glibcMalloc == malloc)
        {
            note = $"{JemallocLibrary}'s malloc resolved to glibc's";
            return null;
        }
        return new JemallocExports
        {
            Malloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*>)malloc,
            Free = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void>)free,
            AlignedAlloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*>)aligned,
        };
    }

    private static bool TryOpen(string name, out nint handle, out string? note)
    {
        note = null;
        try
        {
            handle = NativeLibrary.Load(name);
            return true;
        }
        catch (DllNotFoundException e)
        {
            handle = 0;
            bool missing = !File.Exists(Path.Combine("/usr/lib/x86_64-linux-gnu", name)) && !File.Exists(Path.Combine("/usr/lib/aarch64-linux-gnu", name))
                && e.Message.Contains("No such file", StringComparison.Ordinal);
            note = missing ? $"{name} is not installed ({InstallHint})" : FirstReason(e.Message, name);
            return false;
        }
    }

    /// <summary>The dlerror line that names the library, rather than the whole list of probed paths.</summary>
    private static string FirstReason(string message, string name)
    {
        foreach (string line in message.Split('\n'))
            if (line.Contains("static TLS", StringComparison.Ordinal)) return line.Trim();
        foreach (string line in message.Split('\n'))
            if (line.Contains(name, StringComparison.Ordinal) && line.Contains(':')) return line.Trim();
        return message.Split('\n')[0].Trim();
    }

    private static bool TryExport(nint lib, out string? note, out nint address, params string[] names)
    {
        foreach (string n in names)
            if (NativeLibrary.TryGetExport(lib, n, out address)) { note = null; return true; }
        address = 0;
        note = $"no export {string.Join(" or ", names)}";
        return false;
    }
}
