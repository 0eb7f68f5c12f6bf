using Microsoft.Extensions.Configuration;
using Sealpost.Core;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Configuration;

/// <summary>Configuration could not be used; <see cref="Problems"/> names each key and what is wrong.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> problems)
    : SealpostException(ErrorKind.InvalidInput, "configuration: " + string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Loads <see cref="SealpostOptions"/>: defaults, then the JSON file, then environment variables
/// (<c>SEALPOST_Limits__MaxRecipients=500</c>), then explicit overrides (<c>--set Limits:MaxRecipients=500</c>).
/// Unknown keys are errors, so a misspelt option never silently falls back to its default.
/// </summary>
public static class ConfigurationLoader
{
    public const string EnvironmentPrefix = "SEALPOST_";
    public const string FileName = "sealpost.json";

    public static SealpostOptions Load(string? configFile, IReadOnlyDictionary<string, string?>? overrides = null, bool includeEnvironment = true, IReadOnlyDictionary<string, string?>? defaults = null)
    {
        var builder = new ConfigurationBuilder();
        if (defaults is not null)
        {
            builder.AddInMemoryCollection(defaults); // mode defaults (e.g. --dev ports) sit below everything the operator sets
        }

        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new ConfigurationException([$"configuration file '{configFile}' does not exist"]);
            }

            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        if (includeEnvironment)
        {
            builder.AddEnvironmentVariables(EnvironmentPrefix);
        }

        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides);
        }

        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException)
        {
            throw new ConfigurationException([$"'{configFile}' is not valid JSON: {FirstLine(ex.InnerException?.Message ?? ex.Message)}"]);
        }

        var options = new SealpostOptions();
        try
        {
            root.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException([Describe(ex)]);
        }

        options.WithListDefaults();
        var problems = OptionsValidator.Validate(options);
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        return options;
    }

    /// <summary>Turns the binder's messages into "Key: problem".</summary>
    private static string Describe(InvalidOperationException ex)
    {
        var message = FirstLine(ex.Message);
        // "Failed to convert configuration value '...' at 'Limits:MaxRecipients' to type 'System.Int32'."
        var at = message.IndexOf(" at '", StringComparison.Ordinal);
        if (message.StartsWith("Failed to convert", StringComparison.Ordinal) && at > 0)
        {
            var end = message.IndexOf('\'', at + 5);
            var key = message[(at + 5)..end];
            var type = message.Contains("Int", StringComparison.Ordinal) ? "a whole number" : message.Contains("Boolean", StringComparison.Ordinal) ? "true or false" : "a value of the right type";
            return $"{key}: must be {type}";
        }

        // "'X' was not found ... The following properties were not found: 'Foo'" — name the unknown keys.
        var marker = message.IndexOf("were not found: ", StringComparison.Ordinal);
        if (marker > 0)
        {
            return "unknown key(s) " + message[(marker + 16)..].TrimEnd('.') + " (see docs/configuration.md)";
        }

        return message;
    }

    private static string FirstLine(string text)
    {
        var newline = text.IndexOfAny(['\r', '\n']);
        return newline < 0 ? text : text[..newline];
    }
}
