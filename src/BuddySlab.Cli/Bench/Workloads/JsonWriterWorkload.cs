using System.Runtime.CompilerServices;
using System.Buffers;
using System.Text;
using System.Text.Json;
using BuddySlab.Cli.Bench.Contracts;
using BuddySlab.Cli.Bench.WorkloadSupport;

namespace BuddySlab.Cli.Bench.Workloads;

/// <summary>
/// <c>json-writer</c>: a <see cref="Utf8JsonWriter"/> writes one JSON document of about 50 MB (5 MB with <c>--quick</c>)
/// into a buffer writer: an array of records (an id, a name, a score, a flag, a few tags and a payload string), every
/// value from a fixed-seed <see cref="FastRandom"/> and every string pre-encoded, so the writing itself allocates
/// nothing and what the managed heap sees is the buffer writer's. Timed: writing and flushing the document (the
/// writer is made before and disposed after, untimed). Then, untimed, the document is read back with a
/// <see cref="Utf8JsonReader"/> over what the buffer writer holds: it must parse, hold every record in order, and be
/// exactly as long as the JSON writer wrote. Counts ns per KiB written; its figures are the time per document, the
/// managed bytes allocated and the collections of each generation during it.
/// </summary>
public sealed class JsonWriterWorkload : WriterWorkload
{
    public const long FullBytes = 50_000_000;
    private const int Strings = 64;

    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id"), NameProperty = JsonEncodedText.Encode("name"),
        Score = JsonEncodedText.Encode("score"), Active = JsonEncodedText.Encode("active"), Tags = JsonEncodedText.Encode("tags"),
        Payload = JsonEncodedText.Encode("payload");

    private static readonly byte[][] Texts = BuildTexts();

    public override string Name => "json-writer";
    public override string Description => $"Utf8JsonWriter writes a {FullBytes / 1_000_000} MB JSON document (an array of records) into the buffer writer; read back untimed";
    public override string Unit => "KiB";
    public override bool HasLiveSet => true;
    public override string? Reference => "ArrayBufferWriter";

    public override Measurement Run(Func<BenchWriter> create, RunContext context)
    {
        long target = context.Count(FullBytes, 100_000);
        using BenchWriter writer = create();
        var before = ManagedCounters.Read();
        long start = context.BeginTimed();
        long records, written;
        using (var json = new Utf8JsonWriter(writer.Writer))
        {
            records = Write(json, target);
            json.Flush();
            written = json.BytesCommitted;
        }
        var m = context.EndTimed(start, Math.Max(1, written / 1024), written);
        var counters = ManagedCounters.Read().Since(before);
        Verify(writer.Written, records, written);
        context.Notes.Figures.AddRange([new("time per document", m.Seconds * 1000, FigureUnit.Milliseconds), new("document", written, FigureUnit.Bytes), .. counters]);
        return m;
    }

    /// <summary>Writes records until the document reaches <paramref name="target"/> bytes; returns how many.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long Write(Utf8JsonWriter json, long target)
    {
        var random = new FastRandom(Seed);
        json.WriteStartArray();
        long id = 0;
        while (json.BytesCommitted + json.BytesPending < target)
        {
            ulong r = random.Next();
            json.WriteStartObject();
            json.WriteNumber(Id, id++);
            json.WriteString(NameProperty, Texts[(int)(r & (Strings - 1))]);
            json.WriteNumber(Score, (double)(r >> 40) / 1024.0);
            json.WriteBoolean(Active, (r & 0x40) != 0);
            json.WriteStartArray(Tags);
            for (int t = 0; t < (int)((r >> 8) & 3); t++) json.WriteStringValue(Texts[(int)((r >> (12 + 6 * t)) & (Strings - 1))]);
            json.WriteEndArray();
            json.WriteString(Payload, Texts[(int)((r >> 32) & (Strings - 1))]);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        return id;
    }

    /// <summary>Reads the document back: it must parse, its records' ids must run 0, 1, 2 … in order, and its length must
    /// be what the JSON writer committed.</summary>
    private static void Verify(ReadOnlySequence<byte> document, long records, long written)
    {
        if (document.Length != written)
            throw new CorruptionException($"json-writer: the buffer writer holds {document.Length:N0} bytes where {written:N0} were written.");
        var reader = new Utf8JsonReader(document, new JsonReaderOptions { MaxDepth = 8 });
        long expected = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 2 || !reader.ValueTextEquals("id"u8)) continue;
                reader.Read();
                if (reader.GetInt64() != expected)
                    throw new CorruptionException($"json-writer: record {expected:N0} reads back with id {reader.GetInt64():N0}.");
                expected++;
            }
        }
        catch (JsonException e)
        {
            throw new CorruptionException($"json-writer: the document does not parse back: {e.Message}");
        }
        if (expected != records) throw new CorruptionException($"json-writer: {expected:N0} records read back where {records:N0} were written.");
    }

    /// <summary>Strings of 4 to 200 ASCII letters, UTF-8 encoded once.</summary>
    private static byte[][] BuildTexts()
    {
        var random = new FastRandom(Seed ^ 0x7E47);
        var texts = new byte[Strings][];
        for (int i = 0; i < Strings; i++)
        {
            int length = 4 + (int)random.NextBelow(197);
            var s = new StringBuilder(length);
            for (int c = 0; c < length; c++) s.Append((char)('a' + random.NextBelow(26)));
            texts[i] = Encoding.UTF8.GetBytes(s.ToString());
        }
        return texts;
    }
}
