using System.Runtime;

namespace BuddySlab.Sample;

/// <summary>
/// Which library and which kind of runtime the sample runs on. The JIT's own count of the methods it compiled
/// tells the two apart: a NativeAOT binary has no JIT, so the count stays zero.
/// </summary>
internal static class RuntimeReport
{
    public static void Print(Checks checks, bool expectAot)
    {
        string version = typeof(NativeHeap).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        long jitted = JitInfo.GetCompiledMethodCount();
        Console.WriteLine($"BuddySlab {version}, {(jitted == 0 ? "NativeAOT (no JIT)" : $"JIT ({jitted} methods compiled so far)")}");
        if (expectAot)
            checks.Equal("methods compiled at run time", 0L, jitted);
    }
}
