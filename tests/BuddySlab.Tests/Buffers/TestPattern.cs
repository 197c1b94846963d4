namespace BuddySlab.Tests.Buffers;

/// <summary>
/// A fixed random byte stream for checking data end to end: byte <c>n</c> of the stream is
/// <c>Bytes[(Start + n) % Bytes.Length]</c>. The length is odd, so the pattern never lines up with a power-of-two
/// buffer or segment boundary.
/// </summary>
internal sealed class TestPattern
{
    private readonly byte[] _bytes;
    private readonly int _start;

    public TestPattern(int seed, int start = 0)
    {
        _bytes = new byte[(1 << 20) + 4099];
        new Random(seed).NextBytes(_bytes);
        _start = start;
    }

    /// <summary>Fills <paramref name="destination"/> with the stream's bytes from <paramref name="position"/> on.</summary>
    public void CopyTo(long position, Span<byte> destination)
    {
        int offset = (int)((_start + position) % _bytes.Length);
        while (destination.Length > 0)
        {
            int count = Math.Min(destination.Length, _bytes.Length - offset);
            _bytes.AsSpan(offset, count).CopyTo(destination);
            destination = destination[count..];
            offset = 0;
        }
    }

    /// <summary>Whether <paramref name="data"/> is the stream's bytes from <paramref name="position"/> on.</summary>
    public bool Matches(long position, ReadOnlySpan<byte> data)
    {
        int offset = (int)((_start + position) % _bytes.Length);
        while (data.Length > 0)
        {
            int count = Math.Min(data.Length, _bytes.Length - offset);
            if (!_bytes.AsSpan(offset, count).SequenceEqual(data[..count])) return false;
            data = data[count..];
            offset = 0;
        }
        return true;
    }
}
