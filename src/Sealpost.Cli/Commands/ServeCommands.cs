using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Sealpost.Core;
using Sealpost.Server;
using Sealpost.Server.Hosting;

namespace Sealpost.Cli.Commands;

internal static class ServeCommands
{
    public static Command Init(CliConsole console)
    {
        var hostname = new Option<string?>("--hostname") { Description = "The name this server announces (default: Hostname option)" };
        var recovery = new Option<string?>("--recovery-public-key")
        {
            Description = "The recovery public key file the security officers made offline ('sealpost recovery-key generate')",
        };
        var trustAnchor = new Option<string?>("--trust-anchor")
        {
            Description = "The officers' signed trust anchor ('sealpost trust-anchor new' and 'sign'): who requests and approves account key versions, and the recovery public key",
        };
        var unseal = new Option<string>("--unseal")
        {
            Description = "How the master key is kept: 'shamir' (split among security officers; it never touches disk), 'pkcs11' (also wrapped by a key inside an HSM, Vault:Pkcs11:*, so restarts need no officer; the shares stay the way in), 'tpm2' (also sealed by this machine's TPM, Vault:Tpm2:Tcti) or 'file' (Vault:MasterKeyFile; test rigs only: whoever reads the file holds the keystore)",
            DefaultValueFactory = _ => "shamir",
        };
        unseal.AcceptOnlyFromAmong("shamir", "pkcs11", "tpm2", "file");
        var shares = new Option<int>("--shares") { Description = "With --unseal shamir: how many officers get a share", DefaultValueFactory = _ => 5 };
        var threshold = new Option<int>("--threshold") { Description = "With --unseal shamir: how many of them unseal together (at least 2)", DefaultValueFactory = _ => 3 };
        var command = new Command("init", "Create a new data folder: database, keystore, recovery key, default tenant; split the master key among the security officers")
        {
            hostname, recovery, trustAnchor, unseal, shares, threshold,
        };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var options = context.LoadOptions();
            if (parse.GetValue(hostname) is { } name)
            {
                options.Hostname = name;
            }

            SealpostRuntime.UnsealSetup? setup = null;
            IReadOnlyList<string> shareTexts = [];
            if (parse.GetValue(unseal) is "shamir" or "pkcs11" or "tpm2")
            {
                var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
                var (set, texts) = Sealpost.Server.Unseal.ShareSet.Create(key, parse.GetValue(shares), parse.GetValue(threshold), DateTimeOffset.UtcNow);
                set.Auto = parse.GetValue(unseal) switch
                {
                    "pkcs11" => Sealpost.Server.Unseal.Pkcs11Unseal.Wrap(options.Vault.Pkcs11, key),
                    "tpm2" => Sealpost.Server.Unseal.Tpm2Unseal.Wrap(options.Vault.Tpm2, key),
                    _ => null,
                };

                setup = new SealpostRuntime.UnsealSetup(key, set);
                shareTexts = texts;
            }

            var masterExisted = File.Exists(options.Vault.MasterKeyFile);
            try
            {
                var anchor = parse.GetValue(trustAnchor) is { } anchorFile ? Sealpost.Crypto.Vault.TrustAnchor.ReadFile(anchorFile) : null;
                await using var runtime = await SealpostRuntime.InitialiseAsync(options, context.CreateLoggers(options), dev: false, parse.GetValue(recovery), ct, setup, anchor);
                if (setup is null && !masterExisted)
                {
                    await console.Out.WriteLineAsync($"Made the master key {options.Vault.MasterKeyFile}: whoever reads it holds the keystore; for test rigs only.");
                }

                await console.Out.WriteLineAsync($"Initialised {runtime.Folder.Path} (store {runtime.StoreKind}, schema {await runtime.GetSchemaVersionAsync(ct)}).");
                await console.Out.WriteLineAsync(runtime.Trust.EndorsesLocally
                    ? $"Trust anchor {runtime.Trust.PinnedFingerprint}: a local officer pair in the data folder endorses key versions (test rigs only)."
                    : $"Trust anchor pinned: {runtime.Trust.PinnedFingerprint}. Officers: compare it with the one you signed; it is in the audit trail.");
                if (setup is not null)
                {
                    await UnsealCommands.PrintSharesAsync(console, setup.Set, shareTexts);
                    await console.Out.WriteLineAsync(setup.Set.Auto is { } auto
                        ? $"The master key is also kept by {auto}: 'sealpost serve' unseals itself through it. The shares unseal if it is lost."
                        : "The master key is not written anywhere: 'sealpost serve' starts sealed until that many officers run 'sealpost unseal'.");
                }
            }
            finally
            {
                if (setup is not null)
                {
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(setup.MasterKey);
                }
            }

            await console.Out.WriteLineAsync("Next: configure Tls:Certificates in sealpost.json, 'sealpost admin bootstrap', then 'sealpost serve'.");
            return SealpostCli.Ok;
        });
        return command;
    }

    public static Command RecoveryKey(CliConsole console)
    {
        var publicOut = new Option<string>("--public-out") { Description = "Where to write the public half (it goes into the trust anchor)", Required = true };
        var privateOut = new Option<string?>("--private-out") { Description = "Where to write the private half whole (keep it offline); or split it with --shares" };
        var shares = new Option<int?>("--shares") { Description = "Split the private half into this many shares, one per security officer (nothing whole is written)" };
        var threshold = new Option<int?>("--threshold") { Description = "How many shares 'sealpost recovery open' needs (at least 2)" };
        var shareOut = new Option<string?>("--share-prefix") { Description = "Shares are written to PREFIX-1.share ... PREFIX-N.share (mode 0600); hand each to one officer" };
        var generate = new Command("generate", "Make a recovery key pair, offline; the server only ever gets the public half") { publicOut, privateOut, shares, threshold, shareOut };
        generate.SetAction(async (parse, ct) =>
        {
            var split = parse.GetValue(shares);
            var whole = parse.GetValue(privateOut);
            if ((whole is null) == (split is null))
            {
                throw SealpostException.Invalid("give --private-out FILE, or --shares N --threshold K --share-prefix PREFIX");
            }

            var (privateKey, publicKey) = Sealpost.Crypto.Primitives.Hpke.GenerateKeyPair();
            try
            {
                if (whole is not null)
                {
                    Sealpost.Crypto.Vault.KeyFiles.Write(whole, Sealpost.Crypto.Vault.KeyFiles.RecoveryPrivateLabel, privateKey);
                    Sealpost.Crypto.Vault.KeyFiles.Write(parse.GetValue(publicOut)!, Sealpost.Crypto.Vault.KeyFiles.RecoveryPublicLabel, publicKey);
                    await console.Out.WriteLineAsync($"Wrote {parse.GetValue(publicOut)} (public) and {whole} (private: keep it offline; it opens every account).");
                    return SealpostCli.Ok;
                }

                var prefix = parse.GetValue(shareOut) ?? throw SealpostException.Invalid("--share-prefix: where the shares go");
                var texts = Sealpost.Crypto.Vault.RecoveryShares.Split(privateKey, split!.Value, parse.GetValue(threshold) ?? throw SealpostException.Invalid("--threshold: how many shares open it"));
                var paths = texts.Select((_, i) => $"{prefix}-{i + 1}.share").ToList();
                if (paths.FirstOrDefault(File.Exists) is { } existing)
                {
                    throw SealpostException.Conflict($"'{existing}' already exists; not overwriting a share");
                }

                Sealpost.Crypto.Vault.KeyFiles.Write(parse.GetValue(publicOut)!, Sealpost.Crypto.Vault.KeyFiles.RecoveryPublicLabel, publicKey);
                for (var i = 0; i < texts.Count; i++)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(paths[i]))!);
                    DataFolder.WritePrivateFile(paths[i], System.Text.Encoding.ASCII.GetBytes(texts[i] + "\n"));
                }

                await console.Out.WriteLineAsync($"Wrote {parse.GetValue(publicOut)} (public) and {texts.Count} shares, any {parse.GetValue(threshold)} of which open it: {string.Join(", ", paths)}. The whole private key was never written.");
                return SealpostCli.Ok;
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(privateKey);
            }
        });
        return new Command("recovery-key", "Recovery keys (security officers)") { generate };
    }

    public static Command Migrate(CliConsole console)
    {
        var command = new Command("migrate", "Bring the store's schema to this program's version (several nodes may run it at once)");
        command.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var options = context.LoadOptions();
            var (kind, version) = await SealpostRuntime.MigrateStoreAsync(options, ct);
            await console.Out.WriteLineAsync($"Store {kind} is at schema version {version}.");
            return SealpostCli.Ok;
        });
        return command;
    }

    public static Command Tls(CliConsole console)
    {
        var name = new Argument<string>("name") { Description = "Certificate name, used as Tls:Certificates:N:Keystore" };
        var cert = new Option<string>("--cert") { Description = "PEM certificate chain file", Required = true };
        var key = new Option<string>("--key") { Description = "PEM private key file (delete it after importing)", Required = true };
        var import = new Command("import", "Seal a certificate's private key into the keystore (and keep its chain there)") { name, cert, key };
        import.SetAction(async (parse, ct) =>
        {
            var certificateName = parse.GetValue(name)!;
            if (certificateName.Length is 0 or > 64 || !certificateName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                throw Sealpost.Core.SealpostException.Invalid("a certificate name is 1-64 letters, digits, '-', '.' or '_'");
            }

            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            await Sealpost.Server.Tls.KeystoreCertificates.ImportAsync(runtime.Configuration, SealpostRuntime.LocalAdministrator, certificateName, parse.GetValue(cert)!, parse.GetValue(key)!, ct);
            await console.Out.WriteLineAsync($"Imported '{certificateName}'. Use it with Tls:Certificates:N:Keystore={certificateName}, then delete the key file; SIGHUP reloads a re-import.");
            return SealpostCli.Ok;
        });
        return new Command("tls", "TLS certificates held in the keystore") { import };
    }

    public static Command Serve(CliConsole console)
    {
        var dev = new Option<bool>("--dev")
        {
            Description = "Development server: creates ./.dev-data with demo users, a self-signed certificate and loopback ports",
        };
        var command = new Command("serve", "Run the server (every listener in one process) until stopped") { dev };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var isDev = parse.GetValue(dev);
            var options = context.LoadOptions(isDev ? DevEnvironment.Defaults(null) : null);
            var created = false;
            if (isDev)
            {
                using var loggers = context.CreateLoggers(options);
                created = await DevEnvironment.PrepareAsync(options, loggers, ct);
            }

            await using var server = await SealpostServer.StartAsync(new ServerStartOptions(options, isDev, Announce: line =>
            {
                console.Out.WriteLine(line);
                console.Out.Flush();
            }), ct);
            PrintConnectionDetails(console.Out, server, isDev, created);
            try
            {
                await server.WaitForShutdownAsync(ct);
            }
            catch (OperationCanceledException)
            {
            }

            await console.Out.WriteLineAsync("Stopped.");
            return SealpostCli.Ok;
        });
        return command;
    }

    private static void PrintConnectionDetails(TextWriter output, SealpostServer server, bool dev, bool created)
    {
        var options = server.Runtime.Options;
        output.WriteLine($"Sealpost {SealpostServer.Version} — {(dev ? "development server, not for production" : "production")}");
        output.WriteLine($"  data folder  {server.Runtime.Folder.Path}{(created ? " (created now)" : "")}");
        foreach (var endpoint in server.HttpsEndpoints)
        {
            output.WriteLine($"  HTTPS        {endpoint.Scheme}://{endpoint.Authority}/health");
        }

        var certificate = server.Certificates.SelectCertificate(options.Hostname);
        output.WriteLine($"  TLS          {certificate.Subject}, SHA-256 {certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)}" +
                         (dev ? " (self-signed)" : ""));
        if (dev)
        {
            output.WriteLine($"  domain       {DevEnvironment.DemoDomain} (alias postmaster@, group team@)");
            foreach (var (address, password, _) in DevEnvironment.DemoUsers)
            {
                output.WriteLine($"  user         {address}  password: {password}");
            }
        }

        foreach (var (kind, endpoint) in server.SmtpEndpoints)
        {
            var label = kind switch
            {
                Sealpost.Smtp.SmtpListenerKind.Inbound => "SMTP in     ",
                Sealpost.Smtp.SmtpListenerKind.Submission => "submission  ",
                _ => "submissions ",
            };
            output.WriteLine($"  {label} {endpoint}" + (kind == Sealpost.Smtp.SmtpListenerKind.Submission ? " (STARTTLS; AUTH PLAIN/LOGIN)" : kind == Sealpost.Smtp.SmtpListenerKind.SubmissionImplicitTls ? " (implicit TLS)" : ""));
        }

        foreach (var (kind, endpoint) in server.ImapEndpoints)
        {
            output.WriteLine(kind == Sealpost.Imap.ImapListenerKind.StartTls
                ? $"  IMAP         {endpoint} (STARTTLS)"
                : $"  IMAPS        {endpoint} (implicit TLS)");
        }

        if (server.PeerEndPoint is { } peer)
        {
            output.WriteLine($"  peer unseal  {peer} (mutual TLS; approved node certificates only)");
        }

        output.WriteLine("Ready. Ctrl+C stops the server.");
        output.Flush();
    }
}
