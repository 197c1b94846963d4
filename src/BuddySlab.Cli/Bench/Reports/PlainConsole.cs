using Spectre.Console;

namespace BuddySlab.Cli.Bench.Reports;

/// <summary>
/// A Spectre.Console console that writes plain text: no ANSI codes, no colours, no interaction. What the report
/// writes to when output is redirected or in CI, and what a Markdown table is rendered into before its blank padding
/// lines are dropped.
/// </summary>
public static class PlainConsole
{
    /// <summary>A plain console writing to <paramref name="output"/>, <paramref name="width"/> columns wide.</summary>
    public static IAnsiConsole Create(TextWriter output, int width)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = width;
        return console;
    }
}
