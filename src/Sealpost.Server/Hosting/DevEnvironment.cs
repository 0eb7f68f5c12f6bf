using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Server.Tls;

namespace Sealpost.Server.Hosting;

/// <summary>
/// What <c>serve --dev</c> adds: a data folder made on first start, demo domain and users, a
/// self-signed certificate, and listeners on non-privileged loopback ports.
/// </summary>
public static class DevEnvironment
{
    public const string DemoDomain = "example.test";

    public static readonly IReadOnlyList<(string Address, string Password, string Name)> DemoUsers =
    [
        ("alice@example.test", "alice-dev-password", "Alice Example"),
        ("bob@example.test", "bob-dev-password", "Bob Example"),
    ];

    public const string DefaultDataDirectory = ".dev-data";
    public const string DefaultHttpsListen = "127.0.0.1:8443";

    /// <summary>Defaults that --dev puts under file, environment and --set values.</summary>
    public static Dictionary<string, string?> Defaults(string? dataDirectory) => new()
    {
        ["DataDirectory"] = dataDirectory ?? Path.GetFullPath(DefaultDataDirectory),
        ["Hostname"] = "localhost",
        ["Http:Listen:0"] = DefaultHttpsListen,
        ["Tls:ReloadCheckSeconds"] = "10",
        ["Smtp:InboundListen:0"] = "127.0.0.1:2525",
        ["Smtp:SubmissionListen:0"] = "127.0.0.1:2587",
        ["Smtp:SubmissionTlsListen:0"] = "127.0.0.1:2465",
        ["Imap:Listen:0"] = "127.0.0.1:2143",
        ["Imap:TlsListen:0"] = "127.0.0.1:2993",
        ["Smtp:AllowPlaintextAuthOnLoopback"] = "true",
        ["Imap:AllowPlaintextAuthOnLoopback"] = "true",
        ["Smtp:UseSystemDns"] = "false", // a dev machine may have no DNS: no sender authentication unless Smtp:DnsServers is set
    };

    /// <summary>
    /// Dev keeps its master key in the data folder (convenient, and exactly why a dev folder never
    /// serves production): unless a master key file was configured, that is the one used.
    /// </summary>
    public static void UseFolderMasterKey(SealpostOptions options, DataFolder folder)
    {
        if (options.Vault.MasterKeyFile == new VaultOptions().MasterKeyFile)
        {
            options.Vault.MasterKeyFile = Path.Combine(folder.Path, DataFolder.DevMasterKeyName);
        }
    }

    /// <summary>Makes the data folder on first start, and the certificate whenever it is missing or near expiry.</summary>
    public static async Task<bool> PrepareAsync(SealpostOptions options, ILoggerFactory loggers, CancellationToken ct = default)
    {
        var folder = new DataFolder(options.DataDirectory);
        UseFolderMasterKey(options, folder);

        var created = false;
        if (!folder.IsInitialised)
        {
            await using var runtime = await SealpostRuntime.InitialiseAsync(options, loggers, dev: true, recoveryPublicKeyFile: null, ct);
            await runtime.Directory.AddDomainAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, DemoDomain, "default", ct);
            foreach (var (address, password, name) in DemoUsers)
            {
                await runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, address, password, name, options.Limits.DefaultQuotaBytes, ct: ct);
            }

            await runtime.Directory.AddAliasAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "postmaster@" + DemoDomain, DemoUsers[0].Address, ct);
            await runtime.Directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@" + DemoDomain, "Demo team", ct);
            foreach (var (address, _, _) in DemoUsers)
            {
                await runtime.Directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@" + DemoDomain, address, ct);
            }

            created = true;
        }

        if (options.Tls.Certificates.Count == 0)
        {
            options.Tls.Certificates.Add(DevCertificate.Ensure(folder.TlsFolder, options.Hostname));
        }

        return created;
    }
}
