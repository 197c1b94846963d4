using System.Diagnostics;
using BuddySlab.Cli.Bench.Native;

namespace BuddySlab.Cli.Bench.Processes;

/// <summary>
/// Starting this same program again: for the memory children of <c>--memory</c>, and for the one restart that gives
/// <c>bench</c> the process environment it needs, which the runtime and glibc read only at process start:
/// <list type="bullet">
/// <item><c>DOTNET_TC_CallCountingDelayMs=0</c>: tiered compilation normally waits until no new method has been
/// jitted for 100 ms before it counts calls and promotes hot methods to optimised code, and a benchmark process
/// keeps jitting (runner, progress display, each new workload), so the first repetitions ran library code
/// (BuddyAllocator, ArrayPool) unoptimised: 2x slower, with a median that depended on the repetition count. With
/// the delay at 0, methods are promoted as soon as they are hot and the warm-up run reaches optimised code.</item>
/// <item><c>GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384</c> when jemalloc needs it (see <see cref="NativeLibraries"/>).</item>
/// </list>
/// Works whether the program runs through its apphost (<c>dotnet run</c>, the installed tool) or as
/// <c>dotnet BuddySlab.Cli.dll</c>.
/// </summary>
public static class SelfProcess
{
    /// <summary>Set in a restarted process, so it never restarts again.</summary>
    public const string RestartMarker = "BUDDYSLAB_BENCH_RESTARTED";

    public static bool IsRestarted => Environment.GetEnvironmentVariable(RestartMarker) == "1";

    public const string TieringDelayVariable = "DOTNET_TC_CallCountingDelayMs";

    /// <summary>The tiering delay this process runs with, as set in its environment, or null for the default (100 ms).</summary>
    public static string? TieringDelay => Environment.GetEnvironmentVariable(TieringDelayVariable);

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string path = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown.");
        var psi = new ProcessStartInfo(path) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(SelfProcess).Assembly.Location);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Adds the tunable jemalloc needs to the child's <c>GLIBC_TUNABLES</c>, keeping any others.</summary>
    public static void AddTlsTunable(ProcessStartInfo psi)
    {
        if (NativeLibraries.HasTlsTunable) return;
        string current = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        psi.Environment["GLIBC_TUNABLES"] = current.Length == 0 ? NativeLibraries.TlsTunable : $"{current}:{NativeLibraries.TlsTunable}";
    }

    /// <summary>Sets the tiering delay to 0 for a child, unless this process's environment chose one.</summary>
    public static void AddTieringDelay(ProcessStartInfo psi)
    {
        if (TieringDelay == null) psi.Environment[TieringDelayVariable] = "0";
    }

    /// <summary>Runs this program again with the same arguments, the tiering delay and (when asked) the TLS tunable,
    /// on the same console, and returns its exit code.</summary>
    public static int Restart(IEnumerable<string> args, bool addTlsTunable)
    {
        var psi = StartInfo(args);
        AddTieringDelay(psi);
        if (addTlsTunable) AddTlsTunable(psi);
        psi.Environment[RestartMarker] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("Could not restart this program.");
        p.WaitForExit();
        return p.ExitCode;
    }
}
