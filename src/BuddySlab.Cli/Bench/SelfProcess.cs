using System.Diagnostics;
using BuddySlab.Cli.Bench.Contenders;

namespace BuddySlab.Cli.Bench;

/// <summary>
/// Starting this same program again: for the memory children of <c>--memory</c>, and for the restart that lets
/// jemalloc load (the static-TLS tunable only takes effect at process start). Works whether the program runs
/// through its apphost (<c>dotnet run</c>, the installed tool) or as <c>dotnet BuddySlab.Cli.dll</c>.
/// </summary>
public static class SelfProcess
{
    /// <summary>Set in a restarted process, so it never restarts again.</summary>
    public const string RestartMarker = "BUDDYSLAB_BENCH_RESTARTED";

    public static bool IsRestarted => Environment.GetEnvironmentVariable(RestartMarker) == "1";

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
        string current = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        if (current.Contains("optional_static_tls", StringComparison.Ordinal)) return;
        psi.Environment["GLIBC_TUNABLES"] = current.Length == 0 ? NativeLibraries.TlsTunable : $"{current}:{NativeLibraries.TlsTunable}";
    }

    /// <summary>Runs this program again with the same arguments and the TLS tunable, on the same console, and returns its exit code.</summary>
    public static int RestartWithTlsTunable(IEnumerable<string> args)
    {
        var psi = StartInfo(args);
        AddTlsTunable(psi);
        psi.Environment[RestartMarker] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("Could not restart this program.");
        p.WaitForExit();
        return p.ExitCode;
    }
}
