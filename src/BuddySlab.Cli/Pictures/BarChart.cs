namespace BuddySlab.Cli.Pictures;

/// <summary>One bar of a <see cref="BarChart"/>: its label, its length, its fill, the text written after it, and
/// optionally a part of it drawn inside it in a second fill (what of a slab's bytes objects use, say).</summary>
public sealed record Bar(string Label, double Value, Colour Fill, string ValueText, double Part = 0, Colour? PartFill = null);

/// <summary>
/// A horizontal bar chart on a linear scale from 0: one row per bar, the label on the left, the value's text after the
/// bar. Bars of equal value have equal length in every chart drawn with the same <c>scaleMax</c>, so charts side by side
/// compare. A bar above 0 is at least one pixel long, so a small value never looks like none.
/// </summary>
public static class BarChart
{
    private const double RowHeight = 16, BarHeight = 11, LabelWidth = 120, TextWidth = 200, Top = 4;

    /// <summary>Writes the chart as one SVG picture of <paramref name="barsWidth"/> pixels of bars (plus the label and
    /// text columns); <paramref name="scaleMax"/> is the value of a full-length bar (the largest value when 0).</summary>
    public static void Write(XhtmlWriter page, string label, IReadOnlyList<Bar> bars, double scaleMax = 0, double barsWidth = 300)
    {
        if (scaleMax <= 0) scaleMax = bars.Count == 0 ? 1 : Math.Max(bars.Max(b => b.Value), double.Epsilon);
        double width = LabelWidth + barsWidth + TextWidth;
        double height = Top * 2 + Math.Max(1, bars.Count) * RowHeight;
        page.StartSvg(width, height, label, "chart");
        if (bars.Count == 0) page.SvgText(LabelWidth, Top + 12, "(nothing to show)", cssClass: "note");
        for (int i = 0; i < bars.Count; i++)
        {
            Bar bar = bars[i];
            double y = Top + i * RowHeight;
            page.SvgText(LabelWidth - 6, y + 10, bar.Label, "end");
            double length = Length(bar.Value, scaleMax, barsWidth);
            page.Rect(LabelWidth, y + (RowHeight - BarHeight) / 2, length, BarHeight).Attribute("fill", bar.Fill.Hex).Attribute("class", "bar")
                .Tooltip($"{bar.Label}: {bar.ValueText}").End();
            if (bar.Part > 0 && bar.PartFill is { } partFill)
                page.Rect(LabelWidth, y + (RowHeight - BarHeight) / 2, Length(bar.Part, scaleMax, barsWidth), BarHeight).Attribute("fill", partFill.Hex).End();
            page.SvgText(LabelWidth + length + 4, y + 10, bar.ValueText, cssClass: "value");
        }
        page.End();
    }

    private static double Length(double value, double scaleMax, double barsWidth) =>
        value <= 0 ? 0 : Math.Max(1, Math.Min(value, scaleMax) / scaleMax * barsWidth);
}
