using System.CommandLine;

namespace BuddySlab.Cli.Commands.Stress;

/// <summary>
/// <c>buddyslab stress</c>: a soak of the heap under the traffic real programs make (see <see cref="StressWorker"/> and
/// <see cref="StressRun"/>): random sizes and alignments, every call of the heap's API, blocks handed across threads,
/// threads that die holding blocks and cached memory, a dedicated heap disposed and recreated while other threads call
/// it, and every byte of every block checked. It exits non-zero on corruption, on an unexpected exception and when
/// memory passes its bound. The hidden <c>--inject-corruption</c> overwrites one byte of one live block once, to
/// prove the checker trips.
/// </summary>
public static class StressCommand
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "How long to run.", DefaultValueFactory = _ => 20 };
        var threads = new Option<int>("--threads") { Description = "Worker threads alive at once.", DefaultValueFactory = _ => 4 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random sequences.", DefaultValueFactory = _ => 1 };
        var heap = new Option<string>("--heap") { Description = "The long-lived heap: shared (NativeHeap.Shared) or dedicated (a new NativeHeap()).", DefaultValueFactory = _ => "shared" };
        heap.AcceptOnlyFromAmong("shared", "dedicated");
        var inject = new Option<bool>("--inject-corruption") { Description = "Overwrite one byte of one live block once (the checker must trip).", Hidden = true };
        var command = new Command("stress", "Soak the heap: random sizes, alignments and calls across threads, dying threads, heaps disposed under use, every byte checked; non-zero exit on corruption or memory past its bound.");
        foreach (Option o in new Option[] { seconds, threads, seed, heap, inject }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            int s = parse.GetValue(seconds), t = parse.GetValue(threads);
            if (s < 1 || t < 1 || t > 256)
            {
                Console.Error.WriteLine($"--seconds must be at least 1 and --threads 1..256 (got {s} and {t}).");
                return 2;
            }
            var options = new StressOptions(s, t, parse.GetValue(seed), parse.GetValue(heap) == "dedicated", parse.GetValue(inject));
            return new StressRun(options).Execute();
        });
        return command;
    }
}
