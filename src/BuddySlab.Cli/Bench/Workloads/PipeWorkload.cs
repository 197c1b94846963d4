using System.IO.Pipelines;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>pipe</c>: a <see cref="Pipe"/> over the contender's <see cref="System.Buffers.MemoryPool{T}"/>, its writer and its
/// reader each on a thread of its own (inline schedulers: a side that must wait blocks its thread, see
/// <see cref="BlockingWait"/>). The writer pushes 256 MiB (25.6 MiB with <c>--quick</c>) in writes of 1 B..64 KiB
/// (log-uniform, fixed seed), flushing after each; the pipe holds at most 1 MiB unread (the writer pauses at 1 MiB,
/// resumes at 512 KiB). The bytes follow a pattern of period <see cref="Period"/> (a prime, so no buffer size lines up
/// with it) and the reader checks every byte it reads against it.
/// <para>
/// Counts ns per KiB pushed; figures: throughput, managed bytes allocated and collections during the timed run (the
/// two threads' start included, about a kilobyte), the peak of unread bytes (the live set <c>--memory</c> divides by),
/// and, for a pool over a heap of its own, what that heap still counts once both sides are done, right then and
/// again two purge intervals later with no call in between: <see cref="NativeHeap.AllocatedBytes"/>,
/// <see cref="NativeHeap.CachedBytes"/>, <see cref="NativeHeap.ReservedBytes"/>, and the owners still rented.
/// </para>
/// </summary>
public sealed class PipeWorkload : PoolWorkload
{
    public const long FullBytes = 256L << 20;
    public const int MaxWrite = 64 * 1024, PauseBytes = 1 << 20, ResumeBytes = PauseBytes / 2;
    /// <summary>The pattern's period: the prime just above the largest write, so every write is one contiguous copy.</summary>
    public const int Period = 65537;

    private static readonly SizeTable WriteSizes = new(1, MaxWrite);
    private static readonly byte[] Pattern = BuildPattern();

    public override string Name => "pipe";
    public override string Description => $"System.IO.Pipelines Pipe: writer and reader threads, writes of 1 B..{MaxWrite / 1024} KiB, at most {PauseBytes >> 20} MiB unread, every byte checked";
    public override string Unit => "KiB";
    public override bool Threaded => true;
    public override bool HasLiveSet => true;
    public override string? Reference => "MemoryPool";

    public override Measurement Run(PoolSubject subject, RunContext context)
    {
        long total = context.Count(FullBytes, 1 << 20);
        var pipe = new Pipe(new PipeOptions(subject.Pool, PipeScheduler.Inline, PipeScheduler.Inline, PauseBytes, ResumeBytes,
            useSynchronizationContext: false));
        var progress = new long[32];   // [0]: bytes the reader has checked; [16]: the writer's peak of unread bytes
        var team = new ThreadTeam();
        var before = ManagedCounters.Read();
        var m = team.Run(context, 2, t =>
        {
            if (t == 0) Write(pipe.Writer, total, progress, new BlockingWait(team));
            else Read(pipe.Reader, total, progress, new BlockingWait(team));
        }, Math.Max(1, total / 1024));
        var counters = ManagedCounters.Read().Since(before);
        var figures = context.Notes.Figures;
        figures.AddRange([new("throughput", total / (1024.0 * 1024.0) / m.Seconds, FigureUnit.MebibytesPerSecond), .. counters,
            new("peak unread", progress[16], FigureUnit.Bytes)]);
        if (subject.Heap is { } heap) figures.AddRange(Leftovers(subject, heap));
        return m with { PeakLiveBytes = progress[16] };
    }

    /// <summary>What the pool's own heap counts once the pipe is done, then again two purge intervals later, untouched.</summary>
    private static IEnumerable<Figure> Leftovers(PoolSubject subject, NativeHeap heap)
    {
        var pool = subject.Pool as NativeMemoryPool;
        yield return new("allocated after", (long)heap.AllocatedBytes, FigureUnit.Bytes);
        yield return new("cached after", (long)heap.CachedBytes, FigureUnit.Bytes);
        yield return new("reserved after", (long)heap.ReservedBytes, FigureUnit.Bytes);
        if (pool != null) yield return new("still rented", pool.RentedCount, FigureUnit.Count);
        // A margin past the second pass's due time: the clock's passes are not exactly on the interval.
        Thread.Sleep(subject.PurgeInterval * 2 + TimeSpan.FromMilliseconds(100));
        yield return new("allocated after 2 intervals", (long)heap.AllocatedBytes, FigureUnit.Bytes);
        yield return new("cached after 2 intervals", (long)heap.CachedBytes, FigureUnit.Bytes);
        yield return new("reserved after 2 intervals", (long)heap.ReservedBytes, FigureUnit.Bytes);
    }

    private static void Write(PipeWriter writer, long total, long[] progress, BlockingWait wait)
    {
        try
        {
            var random = new FastRandom(Seed);
            long written = 0, peak = 0;
            while (written < total)
            {
                int n = (int)Math.Min(WriteSizes.Next(ref random), total - written);
                Span<byte> span = writer.GetSpan(n);
                Pattern.AsSpan((int)(written % Period), n).CopyTo(span);
                writer.Advance(n);
                written += n;
                peak = Math.Max(peak, written - Volatile.Read(ref progress[0]));
                FlushResult flushed = wait.Wait(writer.FlushAsync());
                if (flushed.IsCompleted && written < total) throw new InvalidOperationException("pipe: the reader stopped before the end.");
            }
            progress[16] = peak;
            writer.Complete();
        }
        catch (Exception e)
        {
            writer.Complete(e);
            throw;
        }
    }

    private static void Read(PipeReader reader, long total, long[] progress, BlockingWait wait)
    {
        try
        {
            long read = 0;
            while (true)
            {
                ReadResult result = wait.Wait(reader.ReadAsync());
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    Check(segment.Span, read);
                    read += segment.Length;
                }
                reader.AdvanceTo(result.Buffer.End);
                Volatile.Write(ref progress[0], read);
                if (result.IsCompleted) break;
            }
            if (read != total) throw new CorruptionException($"pipe: the reader got {read:N0} bytes where {total:N0} were written.");
            reader.Complete();
        }
        catch (Exception e)
        {
            reader.Complete(e);
            throw;
        }
    }

    /// <summary>Compares bytes read at stream offset <paramref name="offset"/> with the pattern, a period's worth at a time.</summary>
    private static void Check(ReadOnlySpan<byte> bytes, long offset)
    {
        while (bytes.Length > 0)
        {
            int n = Math.Min(bytes.Length, Period);
            if (!bytes[..n].SequenceEqual(Pattern.AsSpan((int)(offset % Period), n)))
                throw new CorruptionException($"pipe: the bytes read at offset {offset:N0}..{offset + n:N0} are not the bytes written there.");
            bytes = bytes[n..];
            offset += n;
        }
    }

    /// <summary>Two periods of random bytes, so any run of up to a period from any phase is one slice.</summary>
    private static byte[] BuildPattern()
    {
        var random = new FastRandom(Seed ^ 0x919E);
        var pattern = new byte[2 * Period];
        for (int i = 0; i < Period; i++) pattern[i] = pattern[i + Period] = (byte)random.Next();
        return pattern;
    }
}
