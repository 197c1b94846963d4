namespace BuddySlab.Cli.Pictures;

/// <summary>One row of a <see cref="RatioChart"/>: a name and its ratio to the reference (null when it has none, with
/// <c>Note</c> saying why), and whether it is the reference itself.</summary>
public sealed record RatioBar(string Name, double? Ratio, bool IsReference = false, string? Note = null);

/// <summary>
/// Ratios to a reference as horizontal bars on a logarithmic (base 2) scale: each bar runs from the reference's line
/// (1×) to the ratio, to the left when lower and to the right when higher, so 0.5× and 2× are bars of equal length on
/// either side. The scale spans whole powers of two around every ratio, at least ½× to 2×, with a labelled grid line on
/// each (every other one when there are many). The ratio's figure stands in a column after the plot.
/// </summary>
public static class RatioChart
{
    private const double RowHeight = 20, BarHeight = 13, NameWidth = 170, PlotWidth = 420, TextWidth = 90, AxisHeight = 20, Top = 6;

    public static readonly Colour Lower = Colour.Parse("#3b8f5a"), Higher = Colour.Parse("#c8553d"), Reference = Colour.Parse("#7a7a7a");

    /// <summary>Writes the chart as one SVG picture; <paramref name="label"/> describes it for screen readers.</summary>
    public static void Write(XhtmlWriter page, string label, IReadOnlyList<RatioBar> bars)
    {
        var ratios = bars.Where(b => b.Ratio is > 0 && double.IsFinite(b.Ratio.Value)).Select(b => b.Ratio!.Value).ToList();
        int low = Math.Min(-1, (int)Math.Floor(ratios.Count == 0 ? 0 : Math.Log2(ratios.Min())));
        int high = Math.Max(1, (int)Math.Ceiling(ratios.Count == 0 ? 0 : Math.Log2(ratios.Max())));
        double X(double ratio) => NameWidth + (Math.Log2(ratio) - low) / (high - low) * PlotWidth;

        double height = Top + bars.Count * RowHeight + AxisHeight;
        page.StartSvg(NameWidth + PlotWidth + TextWidth, height, label, "chart ratios");
        int step = high - low > 8 ? 2 : 1;
        double bottom = Top + bars.Count * RowHeight;
        for (int e = low; e <= high; e += step)
        {
            double x = X(Math.Pow(2, e));
            page.Line(x, Top, x, bottom, e == 0 ? "axis one" : "axis");
            page.SvgText(x, bottom + 14, Tick(e), "middle", "tick");
        }
        for (int i = 0; i < bars.Count; i++)
        {
            RatioBar bar = bars[i];
            double y = Top + i * RowHeight, middle = y + RowHeight / 2 + 4;
            page.SvgText(NameWidth - 8, middle, bar.Name, "end");
            if (bar.Ratio is not { } ratio || ratio <= 0 || !double.IsFinite(ratio))
            {
                page.SvgText(X(1) + 6, middle, bar.Note ?? "no ratio", cssClass: "note");
                continue;
            }
            double x0 = X(1), x1 = X(ratio);
            Colour fill = bar.IsReference ? Reference : ratio < 1 ? Lower : Higher;
            double left = Math.Min(x0, x1), width = Math.Max(Math.Abs(x1 - x0), 2);
            if (bar.IsReference) left = x0 - 1;
            page.Rect(left, y + (RowHeight - BarHeight) / 2, width, BarHeight).Attribute("fill", fill.Hex)
                .Tooltip($"{bar.Name}: {ratio:0.00}x{(bar.IsReference ? " (reference)" : "")}").End();
            page.SvgText(NameWidth + PlotWidth + 8, middle, bar.IsReference ? "1.00x (ref)" : $"{ratio:0.00}x", cssClass: "value");
        }
        page.End();
    }

    /// <summary>The label of 2^<paramref name="e"/>: "1/4x", "1x", "8x".</summary>
    private static string Tick(int e) => e >= 0 ? $"{1L << e}x" : $"1/{1L << -e}x";
}
