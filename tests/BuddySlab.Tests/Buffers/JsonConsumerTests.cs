using System.Buffers;
using System.Text.Json;

namespace BuddySlab.Tests.Buffers;

/// <summary>System.Text.Json writing through a <see cref="NativeBufferWriter"/> and reading its written sequence back.</summary>
public class JsonConsumerTests
{
    private const int Items = 90_000;

    [Fact]
    public void Utf8JsonWriterWritesA20MBDocumentThatJsonDocumentReadsBackEqual()
    {
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 64 << 20 });
        using var native = new NativeBufferWriter(heap);
        using (var json = new Utf8JsonWriter(native)) Write(json);
        var reference = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(reference)) Write(json);

        ReadOnlySequence<byte> written = native.WrittenSequence;
        Assert.True(written.Length >= 20_000_000, $"{written.Length} bytes");
        Assert.False(written.IsSingleSegment);
        Assert.Equal(reference.WrittenCount, written.Length);
        long offset = 0;
        foreach (ReadOnlyMemory<byte> segment in written)
        {
            Assert.True(segment.Span.SequenceEqual(reference.WrittenSpan.Slice((int)offset, segment.Length)), $"bytes {offset}..");
            offset += segment.Length;
        }

        using JsonDocument document = JsonDocument.Parse(written);
        JsonElement items = document.RootElement.GetProperty("items");
        Assert.Equal(Items, items.GetArrayLength());
        int i = 0;
        foreach (JsonElement item in items.EnumerateArray())
        {
            var rng = new Random(i);
            Assert.Equal(i, item.GetProperty("id").GetInt32());
            Assert.Equal(Name(i, rng), item.GetProperty("name").GetString());
            Assert.Equal(rng.NextDouble() * 1e6, item.GetProperty("price").GetDouble());
            Assert.Equal(i % 3 == 0, item.GetProperty("active").GetBoolean());
            JsonElement values = item.GetProperty("values");
            Assert.Equal(8, values.GetArrayLength());
            foreach (JsonElement value in values.EnumerateArray()) Assert.Equal(rng.NextInt64(), value.GetInt64());
            Assert.Equal(JsonValueKind.Null, item.GetProperty("nested").GetProperty("none").ValueKind);
            Assert.Equal($"line \"{i}\"\n\tend", item.GetProperty("nested").GetProperty("text").GetString());
            i++;
        }
        Assert.Equal(Items, i);
        Assert.Equal("done", document.RootElement.GetProperty("footer").GetString());
    }

    private static void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("items");
        for (int i = 0; i < Items; i++)
        {
            var rng = new Random(i);
            json.WriteStartObject();
            json.WriteNumber("id", i);
            json.WriteString("name", Name(i, rng));
            json.WriteNumber("price", rng.NextDouble() * 1e6);
            json.WriteBoolean("active", i % 3 == 0);
            json.WriteStartArray("values");
            for (int k = 0; k < 8; k++) json.WriteNumberValue(rng.NextInt64());
            json.WriteEndArray();
            json.WriteStartObject("nested");
            json.WriteNull("none");
            json.WriteString("text", $"line \"{i}\"\n\tend");
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("footer", "done");
        json.WriteEndObject();
    }

    private static string Name(int i, Random rng) => $"item-{i}-" + new string('x', rng.Next(1, 40)) + "-\u00e9\u4e2d";
}
