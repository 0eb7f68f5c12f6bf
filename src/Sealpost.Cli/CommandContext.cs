using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Configuration;
using Sealpost.Server;
using Sealpost.Server.Configuration;
using Sealpost.Server.Hosting;

namespace Sealpost.Cli;

/// <summary>Options every command shares, and how a command gets its runtime.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Data = new("--data")
    {
        Description = "Data folder (default: DataDirectory from the configuration, or $SEALPOST_DataDirectory)",
        Recursive = true,
    };

    public static readonly Option<string?> Config = new("--config")
    {
        Description = "Configuration file (JSON). Default: DATA/sealpost.json if it exists",
        Recursive = true,
    };

    public static readonly Option<string[]> Set = new("--set")
    {
        Description = "Override one option, e.g. --set Limits:MaxRecipients=500 (repeatable)",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show informational log lines on standard error",
        Recursive = true,
    };
}

internal sealed class CommandContext(ParseResult parse, CliConsole console)
{
    public ParseResult Parse { get; } = parse;
    public CliConsole Console { get; } = console;

    /// <summary>Loads options: defaults, mode defaults, config file, environment, --set, --data.</summary>
    public SealpostOptions LoadOptions(IReadOnlyDictionary<string, string?>? modeDefaults = null)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in Parse.GetValue(GlobalOptions.Set) ?? [])
        {
            var eq = item.IndexOf('=');
            if (eq <= 0)
            {
                throw SealpostException.Invalid($"--set '{item}': expected KEY=VALUE");
            }

            overrides[item[..eq].Trim()] = item[(eq + 1)..];
        }

        var data = Parse.GetValue(GlobalOptions.Data);
        if (data is not null)
        {
            overrides["DataDirectory"] = Path.GetFullPath(data);
        }

        var configFile = Parse.GetValue(GlobalOptions.Config);
        if (configFile is null)
        {
            // Find DATA/sealpost.json from --data, --set, the environment or the mode default.
            var dataDir = data ?? (overrides.TryGetValue("DataDirectory", out var d) ? d : null)
                ?? Environment.GetEnvironmentVariable(ConfigurationLoader.EnvironmentPrefix + "DataDirectory")
                ?? (modeDefaults is not null && modeDefaults.TryGetValue("DataDirectory", out var md) ? md : null);
            if (dataDir is not null && File.Exists(Path.Combine(dataDir, ConfigurationLoader.FileName)))
            {
                configFile = Path.Combine(dataDir, ConfigurationLoader.FileName);
            }
        }

        return ConfigurationLoader.Load(configFile, overrides, includeEnvironment: true, defaults: modeDefaults);
    }

    public ILoggerFactory CreateLoggers(SealpostOptions options)
    {
        var verbose = Parse.GetValue(GlobalOptions.Verbose);
        var level = verbose ? "Information" : "Error"; // a refused login is the command's own one-line error
        return LoggerFactory.Create(b =>
        {
            LoggingSetup.Configure(b, new LoggingOptions { Level = level, Format = options.Log.Format }, Console.Err);
            if (!verbose)
            {
                // An unavailable audit trail is the command's own one-line error, not three.
                b.AddFilter(typeof(Sealpost.Domain.Audit.AuditTrail).FullName, LogLevel.None);
            }
        });
    }

    public async Task<SealpostRuntime> OpenRuntimeAsync(CancellationToken ct)
    {
        var options = LoadOptions();
        // A --dev folder keeps its master key inside (as `serve --dev` does): commands on it find it there.
        var folder = new DataFolder(options.DataDirectory);
        if (folder.IsDev)
        {
            DevEnvironment.UseFolderMasterKey(options, folder);
        }

        return await SealpostRuntime.OpenAsync(options, CreateLoggers(options), ct);
    }

    public static long ParseSize(string text)
    {
        var t = text.Trim().ToUpperInvariant();
        long multiplier = 1;
        if (t.EndsWith('B'))
        {
            t = t[..^1];
        }

        switch (t.Length > 0 ? t[^1] : ' ')
        {
            case 'K': multiplier = 1L << 10; t = t[..^1]; break;
            case 'M': multiplier = 1L << 20; t = t[..^1]; break;
            case 'G': multiplier = 1L << 30; t = t[..^1]; break;
            case 'T': multiplier = 1L << 40; t = t[..^1]; break;
        }

        if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < 0 || value * multiplier > long.MaxValue)
        {
            throw SealpostException.Invalid($"'{text}' is not a size (e.g. 500M, 10G, 0 for none)");
        }

        return (long)(value * multiplier);
    }

    public static string FormatSize(long bytes) => bytes switch
    {
        0 => "none",
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };
}
