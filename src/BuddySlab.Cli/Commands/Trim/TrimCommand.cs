using System.CommandLine;
using System.Diagnostics;
using BuddySlab.Cli.Os;

namespace BuddySlab.Cli.Commands.Trim;

/// <summary>
/// <c>buddyslab trim</c>: how much resident memory a <see cref="NativeHeap"/> gives back. It allocates a million
/// objects of 8..2048 bytes (log-uniform, each touched), frees them in shuffled order, calls <see cref="NativeHeap.Trim"/>,
/// and prints the process's resident memory at each step and the heap's share left after the trim.
/// </summary>
public static class TrimCommand
{
    public static Command Create()
    {
        var objects = new Option<int>("--objects") { Description = "Objects to allocate.", DefaultValueFactory = _ => 1_000_000 };
        var command = new Command("trim", "Resident memory of a NativeHeap at its peak, after freeing everything, and after Trim().");
        command.Options.Add(objects);
        command.SetAction(result => Run(result.GetValue(objects)));
        return command;
    }

    private static unsafe int Run(int count)
    {
        static double MiB(long bytes) => bytes / 1048576.0;
        using var heap = new NativeHeap();
        var rng = new Random(1);
        var blocks = new nint[count];
        long before = ProcessMemory.ResidentBytes(), live = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            var size = (nuint)Math.Pow(2, 3 + rng.NextDouble() * 8);
            byte* p = (byte*)heap.Allocate(size);
            p[0] = 1;
            p[size - 1] = 2;
            blocks[i] = (nint)p;
            live += (long)size;
        }
        long peak = ProcessMemory.ResidentBytes();
        rng.Shuffle(blocks);
        foreach (nint p in blocks) heap.Free((void*)p);
        long freed = ProcessMemory.ResidentBytes();
        heap.Trim();
        long trimmed = ProcessMemory.ResidentBytes();
        double share = (double)(trimmed - before) / (peak - before);
        Console.WriteLine($"{count:N0} objects, {MiB(live):F1} MiB live, {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"resident: before {MiB(before):F1} MiB, peak {MiB(peak):F1} MiB, after freeing all {MiB(freed):F1} MiB, after Trim {MiB(trimmed):F1} MiB");
        Console.WriteLine($"after Trim the heap keeps {share:P1} of its peak growth; allocated bytes {heap.AllocatedBytes}");
        return 0;
    }
}
