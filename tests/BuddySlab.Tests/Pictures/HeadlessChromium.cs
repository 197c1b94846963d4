using System.Diagnostics;

namespace BuddySlab.Tests.Pictures;

/// <summary>
/// A real browser for the tests that look at a page as a person would: Debian's <c>chromium-headless-shell</c> or
/// <c>chromium</c> (or another Chromium build), found on <c>PATH</c> or at the usual install paths, run once per
/// screenshot with a profile of its own that is deleted afterwards.
/// </summary>
internal static class HeadlessChromium
{
    private static readonly string[] Names = ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

    private static readonly string[] UsualPaths =
    [
        "/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium", "/usr/lib/chromium/chromium",
        "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/snap/bin/chromium",
    ];

    /// <summary>The browser's executable, or null when this machine has none.</summary>
    public static string? Find()
    {
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in Names)
            foreach (string dir in path)
                if (IsExecutable(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return UsualPaths.FirstOrDefault(IsExecutable);
    }

    private static bool IsExecutable(string file) =>
        File.Exists(file) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    /// <summary>Renders <paramref name="page"/> (a local file) in a window of <paramref name="width"/> by
    /// <paramref name="height"/> CSS pixels at one device pixel each, and answers the screenshot's PNG bytes.</summary>
    public static byte[] Screenshot(string browser, string page, int width, int height)
    {
        string work = Directory.CreateTempSubdirectory("buddyslab-chromium-").FullName;
        try
        {
            string png = Path.Combine(work, "screenshot.png");
            var start = new ProcessStartInfo(browser)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                "--force-device-scale-factor=1", $"--user-data-dir={Path.Combine(work, "profile")}",
                $"--window-size={width},{height}", $"--screenshot={png}", new Uri(Path.GetFullPath(page)).AbsoluteUri,
            }) start.ArgumentList.Add(arg);
            using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{browser} did not start");
            Task<string> output = process.StandardOutput.ReadToEndAsync(), errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{browser} took more than two minutes to render {page}");
            }
            if (process.ExitCode != 0 || !File.Exists(png))
                throw new InvalidOperationException($"{browser} exited with {process.ExitCode} and no screenshot:\n{output.Result}\n{errors.Result}");
            return File.ReadAllBytes(png);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { }                 // a helper process of the browser may still hold its profile: leave it to the system's temp cleaning
        }
    }
}
