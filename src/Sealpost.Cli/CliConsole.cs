using Spectre.Console;

namespace Sealpost.Cli;

/// <summary>The streams a command uses; the real console in the program, writers in tests.</summary>
public sealed class CliConsole(TextReader input, TextWriter output, TextWriter error, bool inputIsTerminal)
{
    public TextReader In { get; } = input;
    public TextWriter Out { get; } = output;
    public TextWriter Err { get; } = error;
    public bool InputIsTerminal { get; } = inputIsTerminal;

    public static CliConsole System() => new(Console.In, Console.Out, Console.Error, !Console.IsInputRedirected);

    /// <summary>Spectre console over <see cref="Out"/>: plain text when not a terminal, so output is scriptable.</summary>
    public IAnsiConsole Spectre => _spectre ??= AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Out),
        Ansi = ReferenceEquals(Out, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ReferenceEquals(Out, Console.Out) && !Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    });

    private IAnsiConsole? _spectre;

    /// <summary>
    /// Reads a secret: from a terminal with a hidden prompt asked twice, otherwise the first line of
    /// standard input (so scripts can pipe it; a password never goes on the command line, where
    /// every user of the machine can read it in the process list).
    /// </summary>
    public string ReadSecret(string prompt)
    {
        if (InputIsTerminal)
        {
            var first = AnsiConsole.Prompt(new TextPrompt<string>(prompt + ":").Secret());
            var second = AnsiConsole.Prompt(new TextPrompt<string>("again:").Secret());
            if (first != second)
            {
                throw Core.SealpostException.Invalid("the two entries differ");
            }

            return first;
        }

        var line = In.ReadLine();
        if (string.IsNullOrEmpty(line))
        {
            throw Core.SealpostException.Invalid($"{prompt}: expected on the first line of standard input");
        }

        return line;
    }
}
