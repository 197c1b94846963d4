using System.Buffers;
using System.Text.Json;

namespace BuddySlab.Sample;

/// <summary>
/// The buffers over a heap of their own, as a program hands native memory to .NET code that speaks <see cref="Span{T}"/>,
/// <see cref="MemoryPool{T}"/> and <see cref="IBufferWriter{T}"/>: a typed array that is sorted, searched and resized; a
/// pool whose owners are counted while out and refuse use after their dispose; a JSON document written in segments and
/// read back from them. Every block is back in the heap at the end. No reflection anywhere, so it runs the same as a
/// NativeAOT binary.
/// </summary>
internal static unsafe class BufferTour
{
    public static void Run(Checks checks)
    {
        Console.WriteLine("NativeBuffer<T>, NativeMemoryPool, NativeBufferWriter");
        using var heap = new NativeHeap(new NativeHeapOptions { InitialBytes = 16 << 20, MaxBytes = 256 << 20, Name = "sample-buffers" });
        TypedArray(checks, heap);
        Pool(checks, heap);
        Writer(checks, heap);
        heap.Trim();
        checks.Equal("allocated bytes after every buffer is disposed and Trim()", (nuint)0, heap.AllocatedBytes);
    }

    private static void TypedArray(Checks checks, NativeHeap heap)
    {
        using var values = new NativeBuffer<long>(100_000, heap);
        checks.True("NativeBuffer<long>: zeroed", !values.Span.ContainsAnyExcept(0L));
        checks.Equal("NativeBuffer<long>: 16-byte aligned", 0ul, (ulong)values.Pointer % 16);
        for (int i = 0; i < values.Length; i++) values[i] = (i * 7919L) % values.Length;    // a permutation of 0..n-1
        values.Span.Sort();
        checks.Equal("sorted in place: the value at 12,345", 12_345L, values[12_345]);
        checks.Equal("binary search finds 99,999", 99_999, values.Span.BinarySearch(99_999L));

        values.Resize(200_000);
        checks.True("resized to 200,000: the first half kept, the rest zeroed", values[99_999] == 99_999 && values[150_000] == 0);
    }

    private static void Pool(Checks checks, NativeHeap heap)
    {
        using var pool = new NativeMemoryPool(heap) { Name = "sample-pool" };
        IMemoryOwner<byte> small = pool.Rent(100);
        IMemoryOwner<byte> standard = pool.Rent();
        checks.Equal("Rent(100): exactly 100 bytes", 100, small.Memory.Length);
        checks.Equal("Rent(): the default 4 KiB", 4096, standard.Memory.Length);
        checks.Equal("rented owners", 2, pool.RentedCount);
        checks.Equal("rented bytes", 4196L, pool.RentedBytes);

        small.Memory.Span.Fill(0xAB);
        checks.True("a rented block holds what is written", !small.Memory.Span.ContainsAnyExcept((byte)0xAB));
        Memory<byte> kept = small.Memory;
        small.Dispose();
        small.Dispose();                                          // a second Dispose does nothing
        standard.Dispose();
        checks.Equal("rented owners after their dispose", 0, pool.RentedCount);
        checks.True("memory of a disposed owner is refused", Throws<ObjectDisposedException>(() => _ = kept.Span.Length));
    }

    private static void Writer(Checks checks, NativeHeap heap)
    {
        using var output = new NativeBufferWriter(heap, segmentSize: 4096);
        const int Count = 1000;
        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartArray();
            for (int i = 0; i < Count; i++)
            {
                json.WriteStartObject();
                json.WriteNumber("id", i);
                json.WriteString("name", $"block-{i}");
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        checks.True("a JSON document of 1,000 objects spans several 4 KiB segments", output.WrittenCount > 4 * 4096 && !output.WrittenSequence.IsSingleSegment);

        using (JsonDocument document = JsonDocument.Parse(output.WrittenSequence))
        {
            JsonElement last = document.RootElement[Count - 1];
            checks.Equal("read back from the segments: the array's length", Count, document.RootElement.GetArrayLength());
            checks.Equal("read back from the segments: the last name", $"block-{Count - 1}", last.GetProperty("name").GetString());
        }

        var copy = new MemoryStream();
        output.CopyTo(copy);
        checks.Equal("CopyTo writes every byte", output.WrittenCount, copy.Length);
        output.Reset();
        checks.Equal("Reset: nothing written, the segments kept", 0L, output.WrittenCount);
    }

    private static bool Throws<TException>(Action action) where TException : Exception
    {
        try
        {
            action();
            return false;
        }
        catch (TException)
        {
            return true;
        }
    }
}
