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

    public static readonly Option<string?> Server = new("--server")
    {
        Description = "Run the command through this server's admin API (https://host:port), as the administrator signed in with 'sealpost login'",
        Recursive = true,
    };

    public static readonly Option<string?> Credentials = new("--credentials")
    {
        Description = "Where 'sealpost login' keeps its session (default: $SEALPOST_CREDENTIALS or ~/.config/sealpost/credentials.json)",
        Recursive = true,
    };

    public static readonly Option<bool> Recovery = new("--recovery")
    {
        Description = "Change the directory offline on a production data folder (recovery, when no administrator can sign in); audited as a recovery step",
        Recursive = true,
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
        if (data is null && modeDefaults is null && !overrides.ContainsKey("DataDirectory")
            && Environment.GetEnvironmentVariable(ConfigurationLoader.EnvironmentPrefix + "DataDirectory") is null
            && new DataFolder(Path.GetFullPath(DevEnvironment.DefaultDataDirectory)).IsDev)
        {
            // In the folder where `serve --dev` runs, commands work on its data folder without --data.
            data = DevEnvironment.DefaultDataDirectory;
        }

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

    /// <summary>The credentials file this command uses.</summary>
    public string CredentialsPath => Parse.GetValue(GlobalOptions.Credentials) ?? ApiLoginFile.DefaultPath();

    /// <summary>
    /// Who carries out a directory command: the signed-in administrator through the server's API when
    /// --server is given (or a sign-in is stored and no data folder is named), otherwise the local
    /// administrator on the data folder.
    /// </summary>
    public async Task<IAdministration> OpenAdministrationAsync(CancellationToken ct)
    {
        var server = Parse.GetValue(GlobalOptions.Server);
        var useApi = server is not null
            || (Parse.GetValue(GlobalOptions.Data) is null
                && Environment.GetEnvironmentVariable(ConfigurationLoader.EnvironmentPrefix + "DataDirectory") is null
                && !new DataFolder(Path.GetFullPath(DevEnvironment.DefaultDataDirectory)).IsDev
                && File.Exists(CredentialsPath));
        if (!useApi)
        {
            var (runtime, actor) = await OpenOfflineAsync(ct);
            return new LocalAdministration(runtime, actor);
        }

        var login = ApiLoginFile.Load(CredentialsPath)
            ?? throw new SealpostException(ErrorKind.Forbidden, $"not signed in: run 'sealpost login --server {server ?? "https://HOST:PORT"}'");
        if (server is not null && !SameServer(login.Server, server))
        {
            throw new SealpostException(ErrorKind.Forbidden, $"signed in to {login.Server}, not {server}: run 'sealpost login --server {server}'");
        }

        if (login.ExpiresAt <= DateTimeOffset.UtcNow)
        {
            throw new SealpostException(ErrorKind.Forbidden, $"the session with {login.Server} ended at {login.ExpiresAt:yyyy-MM-dd HH:mm} UTC: run 'sealpost login --server {login.Server}'");
        }

        return new ApiAdministration(login);
    }

    /// <summary>
    /// The data folder for a change made offline, and who makes it: anyone on a --dev folder; on a
    /// production folder only with --recovery (no administrator can sign in), recorded as a recovery step.
    /// </summary>
    public async Task<(SealpostRuntime Runtime, Sealpost.Core.Access.Actor Actor)> OpenOfflineAsync(CancellationToken ct)
    {
        var runtime = await OpenRuntimeAsync(ct);
        if (runtime.Folder.IsDev)
        {
            return (runtime, SealpostRuntime.LocalAdministrator);
        }

        if (!Parse.GetValue(GlobalOptions.Recovery))
        {
            await runtime.DisposeAsync();
            throw new SealpostException(ErrorKind.Forbidden,
                "a production data folder is administered through the server: 'sealpost login --server https://HOST:PORT ADDRESS' "
                + "(the first administrator: 'sealpost admin bootstrap'; people change their own passwords with 'sealpost me'); offline changes need --recovery");
        }

        return (runtime, SealpostRuntime.LocalAdministrator with { Protocol = "cli-recovery" });
    }

    private static bool SameServer(string a, string b) =>
        Uri.TryCreate(a, UriKind.Absolute, out var x) && Uri.TryCreate(b, UriKind.Absolute, out var y)
        && string.Equals(x.GetLeftPart(UriPartial.Authority), y.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);

    public async Task<SealpostRuntime> OpenRuntimeAsync(CancellationToken ct)
    {
        var options = LoadOptions();
        // A --dev folder keeps its master key inside (as `serve --dev` does): commands on it find it there.
        var folder = new DataFolder(options.DataDirectory);
        if (folder.IsDev)
        {
            DevEnvironment.UseFolderMasterKey(options, folder);
        }

        if (folder.IsInitialised && Sealpost.Server.Unseal.ShareSet.Load(folder.Path) is { } shares)
        {
            // Sealed by officers' shares: an offline command needs k of them, as the server does, unless
            // the folder's HSM unwraps the master key.
            var key = Commands.UnsealCommands.AutoUnseal(Console, options, shares) ?? Commands.UnsealCommands.ReadMasterKey(Console, shares);
            try
            {
                return await SealpostRuntime.OpenAsync(options, CreateLoggers(options), ct, key);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
            }
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
