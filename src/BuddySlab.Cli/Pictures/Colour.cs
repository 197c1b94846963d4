using System.Globalization;

namespace BuddySlab.Cli.Pictures;

/// <summary>
/// An sRGB colour, written as CSS reads it (<c>#rrggbb</c>), and the ramps the pictures build their palettes from.
/// Two colours are equal exactly when their hex forms are.
/// </summary>
public readonly record struct Colour(byte R, byte G, byte B)
{
    /// <summary>The colour of <c>#rrggbb</c>.</summary>
    public static Colour Parse(string hex)
    {
        if (hex.Length != 7 || hex[0] != '#' || !uint.TryParse(hex.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint v))
            throw new FormatException($"'{hex}' is not a colour of the form #rrggbb.");
        return new Colour((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary>The colour of hue <paramref name="hue"/> (degrees), saturation and lightness (0..1).</summary>
    public static Colour FromHsl(double hue, double saturation, double lightness)
    {
        double c = (1 - Math.Abs(2 * lightness - 1)) * saturation;
        double h = ((hue % 360) + 360) % 360 / 60;
        double x = c * (1 - Math.Abs(h % 2 - 1));
        (double r, double g, double b) = (int)h switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        double m = lightness - c / 2;
        return new Colour(Channel(r + m), Channel(g + m), Channel(b + m));
    }

    /// <summary>The colour <paramref name="t"/> of the way (0..1) from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static Colour Between(Colour from, Colour to, double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new Colour(Mix(from.R, to.R, t), Mix(from.G, to.G, t), Mix(from.B, to.B, t));
    }

    /// <summary>The relative luminance (0 black .. 1 white), to pick a readable text colour over a fill.</summary>
    public double Luminance => (0.2126 * R + 0.7152 * G + 0.0722 * B) / 255;

    public string Hex => $"#{R:x2}{G:x2}{B:x2}";

    public override string ToString() => Hex;

    private static byte Channel(double v) => (byte)Math.Clamp(Math.Round(v * 255), 0, 255);

    private static byte Mix(byte a, byte b, double t) => (byte)Math.Round(a + (b - a) * t);
}
