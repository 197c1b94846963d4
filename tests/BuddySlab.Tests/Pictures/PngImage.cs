using System.Buffers.Binary;
using System.IO.Compression;

namespace BuddySlab.Tests.Pictures;

/// <summary>
/// A PNG decoded to RGB pixels: enough of the format for what a browser's screenshot writes (8 bits per channel,
/// truecolour with or without alpha, not interlaced), every chunk's CRC checked, the five row filters undone. Anything
/// else throws <see cref="InvalidDataException"/> naming what it met.
/// </summary>
internal sealed class PngImage
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly byte[] _rgb;

    private PngImage(int width, int height, byte[] rgb)
    {
        Width = width;
        Height = height;
        _rgb = rgb;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>The pixel at (<paramref name="x"/>, <paramref name="y"/>) as <c>0xRRGGBB</c>.</summary>
    public int Pixel(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return _rgb[i] << 16 | _rgb[i + 1] << 8 | _rgb[i + 2];
    }

    public static PngImage Decode(byte[] file)
    {
        if (file.Length < Signature.Length || !file.AsSpan(0, Signature.Length).SequenceEqual(Signature))
            throw new InvalidDataException("not a PNG file (bad signature)");
        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        int at = Signature.Length;
        while (true)
        {
            if (at + 12 > file.Length) throw new InvalidDataException("PNG ends before its IEND chunk");
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
            if (length < 0 || at + 12 + length > file.Length) throw new InvalidDataException($"PNG chunk {type} runs past the file");
            ReadOnlySpan<byte> data = file.AsSpan(at + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at + 8 + length));
            if (crc != Crc32(file.AsSpan(at + 4, 4 + length)))
                throw new InvalidDataException($"PNG chunk {type} fails its CRC");
            at += 12 + length;
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    (byte depth, byte colour, byte interlace) = (data[8], data[9], data[12]);
                    if (depth != 8 || interlace != 0 || colour is not (2 or 6))
                        throw new InvalidDataException($"PNG of bit depth {depth}, colour type {colour}, interlace {interlace}: only 8-bit RGB(A), not interlaced");
                    channels = colour == 6 ? 4 : 3;
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    return new PngImage(width, height, Unfilter(idat.ToArray(), width, height, channels));
            }
        }
    }

    /// <summary>Inflates the image data and undoes each row's filter; answers the RGB bytes (alpha dropped).</summary>
    private static byte[] Unfilter(byte[] compressed, int width, int height, int channels)
    {
        if (width <= 0 || height <= 0) throw new InvalidDataException("PNG has no IHDR before its data");
        int stride = width * channels;
        var raw = new byte[(stride + 1) * height];
        using (var z = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress))
            z.ReadExactly(raw);
        var rgb = new byte[width * height * 3];
        var previous = new byte[stride];
        var row = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            raw.AsSpan(y * (stride + 1) + 1, stride).CopyTo(row);
            for (int i = 0; i < stride; i++)
            {
                int left = i >= channels ? row[i - channels] : 0, up = previous[i], upLeft = i >= channels ? previous[i - channels] : 0;
                row[i] += filter switch
                {
                    0 => 0,
                    1 => (byte)left,
                    2 => (byte)up,
                    3 => (byte)((left + up) / 2),
                    4 => (byte)Paeth(left, up, upLeft),
                    _ => throw new InvalidDataException($"PNG row {y} has unknown filter {filter}"),
                };
            }
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = row[x * channels + c];
            (previous, row) = (row, previous);
        }
        return rgb;
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The CRC-32 a PNG chunk carries over its type and data.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in bytes) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
