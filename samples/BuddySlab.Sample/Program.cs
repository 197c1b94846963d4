using BuddySlab.Sample;

// Runs each part of the tour and exits non-zero if any checked result differs from what it should be.
// "--aot" also requires that the process runs as a NativeAOT binary, with no JIT.
var checks = new Checks();
bool expectAot = args.Contains("--aot");

RuntimeReport.Print(checks, expectAot);
HeapTour.Run(checks);
KernelPages.Run(checks);
ParticleCache.Run(checks);
BufferTour.Run(checks);

Console.WriteLine(checks.Failures == 0
    ? $"sample: all {checks.Passed} checks passed"
    : $"sample: {checks.Failures} of {checks.Passed + checks.Failures} checks FAILED");
return checks.Failures == 0 ? 0 : 1;
