using System.Globalization;
using System.Text;
using System.Xml;

namespace BuddySlab.Cli.Pictures;

/// <summary>
/// Writes one self-contained page that is both HTML5 and well-formed XML (XHTML): a <c>&lt;style&gt;</c> in the head,
/// inline SVG for the pictures, no script, nothing fetched. Everything goes through an <see cref="XmlWriter"/>, so text
/// and attribute values are always escaped and elements always nest.
/// <para><b>Invariants.</b> An HTML element with no content is still written with its end tag (<c>&lt;td&gt;&lt;/td&gt;</c>):
/// an HTML parser ignores the slash of <c>&lt;td/&gt;</c> and would leave the element open. SVG elements may close
/// themselves (<c>&lt;rect/&gt;</c>), which HTML allows inside <c>&lt;svg&gt;</c>. The style sheet must not contain
/// <c>&lt;</c>, <c>&gt;</c> or <c>&amp;</c>: XML escapes them, and HTML reads a style element's text raw.</para>
/// </summary>
public sealed class XhtmlWriter : IDisposable
{
    public const string XhtmlNamespace = "http://www.w3.org/1999/xhtml";
    public const string SvgNamespace = "http://www.w3.org/2000/svg";

    private readonly XmlWriter _xml;
    private readonly Stack<bool> _open = new();       // per open element: true for HTML (full end tag), false for SVG

    private XhtmlWriter(XmlWriter xml) => _xml = xml;

    /// <summary>Starts a page on <paramref name="output"/>: the doctype, the head with <paramref name="title"/> and
    /// <paramref name="styleSheet"/>, and an open body. <see cref="Dispose"/> closes everything.</summary>
    public static XhtmlWriter Start(TextWriter output, string title, string styleSheet)
    {
        if (styleSheet.AsSpan().IndexOfAny("<>&") >= 0)
            throw new ArgumentException("The style sheet must not contain '<', '>' or '&' (see XhtmlWriter).", nameof(styleSheet));
        var xml = XmlWriter.Create(output, new XmlWriterSettings
        {
            OmitXmlDeclaration = true,
            Encoding = new UTF8Encoding(false),
            Indent = false,
            NewLineHandling = NewLineHandling.None,
        });
        var page = new XhtmlWriter(xml);
        xml.WriteDocType("html", null, null, null);
        page.Start("html");
        xml.WriteAttributeString("lang", "en");
        page.Start("head");
        xml.WriteStartElement("meta", XhtmlNamespace);
        xml.WriteAttributeString("charset", "utf-8");
        xml.WriteEndElement();
        page.Text("title", title);
        page.Text("style", styleSheet);
        page.End();
        page.Start("body");
        return page;
    }

    /// <summary>Opens an HTML element, with a class when <paramref name="cssClass"/> is given.</summary>
    public XhtmlWriter Start(string element, string? cssClass = null)
    {
        _xml.WriteStartElement(element, XhtmlNamespace);
        _open.Push(true);
        if (cssClass != null) _xml.WriteAttributeString("class", cssClass);
        return this;
    }

    /// <summary>An HTML element holding only <paramref name="text"/>.</summary>
    public XhtmlWriter Text(string element, string text, string? cssClass = null)
    {
        Start(element, cssClass);
        _xml.WriteString(text);
        return End();
    }

    /// <summary>Text inside the open element.</summary>
    public XhtmlWriter Text(string text)
    {
        _xml.WriteString(text);
        return this;
    }

    /// <summary>An attribute of the element just opened.</summary>
    public XhtmlWriter Attribute(string name, string value)
    {
        _xml.WriteAttributeString(name, value);
        return this;
    }

    /// <summary>A numeric attribute, written the same in every culture.</summary>
    public XhtmlWriter Attribute(string name, double value)
    {
        _xml.WriteAttributeString(name, Number(value));
        return this;
    }

    /// <summary>Opens an inline SVG picture of <paramref name="width"/> by <paramref name="height"/> pixels, described
    /// for screen readers by <paramref name="label"/>.</summary>
    public XhtmlWriter StartSvg(double width, double height, string label, string? cssClass = null)
    {
        _xml.WriteStartElement("svg", SvgNamespace);
        _open.Push(false);
        _xml.WriteAttributeString("width", Number(width));
        _xml.WriteAttributeString("height", Number(height));
        _xml.WriteAttributeString("viewBox", $"0 0 {Number(width)} {Number(height)}");
        _xml.WriteAttributeString("role", "img");
        _xml.WriteAttributeString("aria-label", label);
        if (cssClass != null) _xml.WriteAttributeString("class", cssClass);
        return this;
    }

    /// <summary>Opens an SVG element (inside an open <see cref="StartSvg"/>).</summary>
    public XhtmlWriter StartSvgElement(string element)
    {
        _xml.WriteStartElement(element, SvgNamespace);
        _open.Push(false);
        return this;
    }

    /// <summary>A rectangle; the fill (or class) is set by <see cref="Attribute(string, string)"/> calls before
    /// <see cref="End"/>.</summary>
    public XhtmlWriter Rect(double x, double y, double width, double height)
    {
        StartSvgElement("rect");
        _xml.WriteAttributeString("x", Number(x));
        _xml.WriteAttributeString("y", Number(y));
        _xml.WriteAttributeString("width", Number(width));
        _xml.WriteAttributeString("height", Number(height));
        return this;
    }

    /// <summary>A complete rectangle at <paramref name="x"/> in the row group open now (see <see cref="StartRow"/>), whose
    /// size and fill come from the style sheet's rule for <paramref name="cssClass"/> (CSS geometry properties): the
    /// compact form for pictures of many equal cells.</summary>
    public XhtmlWriter Cell(int x, string cssClass)
    {
        _xml.WriteStartElement("rect", SvgNamespace);
        _xml.WriteAttributeString("x", x.ToString(CultureInfo.InvariantCulture));
        _xml.WriteAttributeString("class", cssClass);
        _xml.WriteEndElement();
        return this;
    }

    /// <summary>Opens an SVG group moved down to <paramref name="y"/>: one row of <see cref="Cell"/>s.</summary>
    public XhtmlWriter StartRow(int y)
    {
        StartSvgElement("g");
        _xml.WriteAttributeString("transform", $"translate(0 {y.ToString(CultureInfo.InvariantCulture)})");
        return this;
    }

    /// <summary>A complete SVG text element at (<paramref name="x"/>, <paramref name="y"/>), anchored at its start,
    /// middle or end.</summary>
    public XhtmlWriter SvgText(double x, double y, string text, string anchor = "start", string? cssClass = null)
    {
        StartSvgElement("text");
        _xml.WriteAttributeString("x", Number(x));
        _xml.WriteAttributeString("y", Number(y));
        if (anchor != "start") _xml.WriteAttributeString("text-anchor", anchor);
        if (cssClass != null) _xml.WriteAttributeString("class", cssClass);
        _xml.WriteString(text);
        return End();
    }

    /// <summary>A complete SVG line.</summary>
    public XhtmlWriter Line(double x1, double y1, double x2, double y2, string cssClass)
    {
        StartSvgElement("line");
        _xml.WriteAttributeString("x1", Number(x1));
        _xml.WriteAttributeString("y1", Number(y1));
        _xml.WriteAttributeString("x2", Number(x2));
        _xml.WriteAttributeString("y2", Number(y2));
        _xml.WriteAttributeString("class", cssClass);
        return End();
    }

    /// <summary>A tooltip for the SVG element open now (its <c>&lt;title&gt;</c> child).</summary>
    public XhtmlWriter Tooltip(string text)
    {
        StartSvgElement("title");
        _xml.WriteString(text);
        return End();
    }

    /// <summary>Closes the innermost open element.</summary>
    public XhtmlWriter End()
    {
        if (_open.Pop()) _xml.WriteFullEndElement();
        else _xml.WriteEndElement();
        return this;
    }

    /// <summary>A table: a header row of <paramref name="headers"/> (every column after the first right-aligned, as
    /// numbers are) and one row per entry of <paramref name="rows"/>.</summary>
    public XhtmlWriter Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, string? caption = null)
    {
        Start("table");
        if (caption != null) Text("caption", caption);
        Start("thead").Start("tr");
        foreach (string h in headers) Text("th", h);
        End().End();
        Start("tbody");
        foreach (IReadOnlyList<string> row in rows)
        {
            Start("tr");
            foreach (string cell in row) Text("td", cell);
            End();
        }
        return End().End();
    }

    /// <summary>A number as SVG and CSS read it: invariant culture, at most two decimals.</summary>
    public static string Number(double value) => Math.Round(value, 2).ToString(CultureInfo.InvariantCulture);

    /// <summary>Closes every open element and flushes the page.</summary>
    public void Dispose()
    {
        while (_open.Count > 0) End();
        _xml.Flush();
        _xml.Dispose();
    }
}
