using System.CommandLine;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Server;
using Sealpost.Server.Unseal;

namespace Sealpost.Cli.Commands;

/// <summary>
/// <c>sealpost unseal</c>: a security officer gives their share to a sealed server (its Unix socket, or
/// its HTTPS endpoint); <c>unseal status</c> shows how far the officers are; <c>unseal rotate</c> splits
/// the same master key anew (k old shares in, n new shares out), so no mail is re-encrypted.
/// </summary>
internal static class UnsealCommands
{
    public static Command Unseal(CliConsole console)
    {
        var socket = new Option<string?>("--socket") { Description = "The sealed server's unseal socket (default: Vault:UnsealSocket, or DATA/unseal.sock)", Recursive = true };
        var caFile = new Option<string?>("--ca-file") { Description = "With --server: trust only this CA or certificate (PEM)", Recursive = true };
        var command = new Command("unseal", "Give your share to a sealed server (standard input, or a hidden prompt); with k shares it starts") { socket, caFile };
        command.SetAction(async (parse, ct) =>
        {
            var share = ReadShare(console, "your share");
            using var http = Client(parse, console, socket, caFile);
            using var response = await http.PostAsJsonAsync("v1/unseal", new ShareRequest(share), ct);
            var status = await ReadStatusAsync(response, ct);
            await console.Out.WriteLineAsync(status.Sealed
                ? $"Share accepted: {status.Received} of {status.Threshold}; {status.Missing} more needed."
                : "Unsealed: the server is starting.");
            return SealpostCli.Ok;
        });

        var statusCommand = new Command("status", "How many shares a sealed server has");
        statusCommand.SetAction(async (parse, ct) =>
        {
            using var http = Client(parse, console, socket, caFile);
            using var response = await http.GetAsync("v1/unseal", ct);
            var status = await ReadStatusAsync(response, ct);
            await console.Out.WriteLineAsync($"Sealed: {status.Received} of {status.Threshold} shares given (set {status.ShareSet}); {status.Missing} more needed.");
            if (status.AlsoWaitingFor is { } providers)
            {
                await console.Out.WriteLineAsync($"Also waiting for: {providers} (its errors are in the server's log, event 2304).");
            }

            return SealpostCli.Ok;
        });
        command.Add(statusCommand);
        command.Add(Rotate(console));
        return command;
    }

    /// <summary>
    /// Node certificates that may fetch the master key from an unsealed peer. Approving one is the
    /// officers' act: it opens the folder offline with k shares (or its HSM), like every keystore change.
    /// </summary>
    public static Command Peer(CliConsole console)
    {
        var command = new Command("peer", "Node certificates approved for peer unseal (a node fetches the master key from an unsealed node over mutual TLS)");
        var fingerprint = new Argument<string>("fingerprint") { Description = "The node certificate's SHA-256 (openssl x509 -noout -fingerprint -sha256 -in node.pem, or 'sealpost peer fingerprint')" };
        var label = new Option<string>("--label") { Description = "Which node this is (e.g. node-b.dc2)", Required = true };
        var approve = new Command("approve", "Approve a node certificate (k officers' shares on standard input, or the folder's HSM)") { fingerprint, label };
        approve.SetAction(async (parse, ct) =>
        {
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            await runtime.Configuration.ApprovePeerAsync(Actor.Officers(Environment.UserName, Environment.MachineName), parse.GetValue(fingerprint)!, parse.GetValue(label)!, ct);
            await console.Out.WriteLineAsync($"Approved: a node with that certificate may now fetch the master key from any unsealed node serving Vault:Peer:Listen.");
            return SealpostCli.Ok;
        });

        var revokeFingerprint = new Argument<string>("fingerprint") { Description = "The approved certificate's SHA-256" };
        var revoke = new Command("revoke", "Withdraw a node certificate's approval") { revokeFingerprint };
        revoke.SetAction(async (parse, ct) =>
        {
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            await runtime.Configuration.RevokePeerAsync(Actor.Officers(Environment.UserName, Environment.MachineName), parse.GetValue(revokeFingerprint)!, ct);
            await console.Out.WriteLineAsync("Revoked.");
            return SealpostCli.Ok;
        });

        var list = new Command("list", "Approved node certificates");
        list.SetAction(async (parse, ct) =>
        {
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            foreach (var peer in await runtime.Configuration.ListPeersAsync(Actor.Officers(Environment.UserName, Environment.MachineName), ct))
            {
                await console.Out.WriteLineAsync($"{peer.Fingerprint}  {peer.Label}  approved {peer.ApprovedAt:yyyy-MM-dd HH:mm} by {peer.ApprovedBy}");
            }

            return SealpostCli.Ok;
        });

        var certificate = new Option<string>("--certificate") { Description = "A PEM certificate file", Required = true };
        var print = new Command("fingerprint", "Print a certificate's SHA-256 as 'peer approve' takes it") { certificate };
        print.SetAction(async (parse, _) =>
        {
            try
            {
                using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(parse.GetValue(certificate)!));
                await console.Out.WriteLineAsync(Sealpost.Domain.ConfigurationService.Fingerprint(cert.RawData));
                return SealpostCli.Ok;
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
            {
                throw SealpostException.Invalid($"--certificate: cannot read a PEM certificate from '{parse.GetValue(certificate)}'");
            }
        });

        command.Add(approve);
        command.Add(revoke);
        command.Add(list);
        command.Add(print);
        return command;
    }

    private static Command Rotate(CliConsole console)
    {
        var shares = new Option<int>("--shares") { Description = "How many officers get a new share", DefaultValueFactory = _ => 5 };
        var threshold = new Option<int>("--threshold") { Description = "How many of them unseal together (at least 2)", DefaultValueFactory = _ => 3 };
        var command = new Command("rotate", "Split the master key anew among officers (k current shares on standard input); mail is not re-encrypted") { shares, threshold };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var options = context.LoadOptions();
            var set = ShareSet.Load(options.DataDirectory) ?? throw SealpostException.Invalid($"'{options.DataDirectory}' is not sealed by officers' shares");
            var masterKey = ReadMasterKey(console, set);
            try
            {
                var (fresh, texts) = ShareSet.Create(masterKey, parse.GetValue(shares), parse.GetValue(threshold), DateTimeOffset.UtcNow);
                fresh.Auto = set.Auto; // the same master key: the HSM's wrap of it stays good
                await using (var runtime = await SealpostRuntime.OpenAsync(options, context.CreateLoggers(options), ct, masterKey))
                {
                    // Audited before the new set replaces the old: a failure leaves the old shares valid.
                    await runtime.Configuration.RecordSharesRotatedAsync(Sealpost.Core.Access.Actor.Officers(Environment.UserName, Environment.MachineName),
                        $"set {set.SetId} ({set.Threshold} of {set.Shares}) replaced by set {fresh.SetId} ({fresh.Threshold} of {fresh.Shares})", ct);
                    fresh.Save(options.DataDirectory);
                }

                await PrintSharesAsync(console, fresh, texts);
                await console.Out.WriteLineAsync($"The shares of set {set.SetId} no longer unseal this folder. A running server is not affected.");
                return SealpostCli.Ok;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(masterKey);
            }
        });
        return command;
    }

    /// <summary>Prints a new split: one line per officer, each to be copied by that officer alone.</summary>
    public static async Task PrintSharesAsync(CliConsole console, ShareSet set, IReadOnlyList<string> texts)
    {
        await console.Out.WriteLineAsync($"Master key split into {set.Shares} shares; any {set.Threshold} unseal the server (set {set.SetId}).");
        await console.Out.WriteLineAsync("Give each share to one security officer, who keeps it offline; nobody should keep more than one:");
        for (var i = 0; i < texts.Count; i++)
        {
            await console.Out.WriteLineAsync($"  share {i + 1}: {texts[i]}");
        }
    }

    /// <summary>The master key from the folder's auto-unseal provider, or null (with the reason on standard error) if it has none or it fails.</summary>
    public static byte[]? AutoUnseal(CliConsole console, Core.Configuration.SealpostOptions options, ShareSet set)
    {
        if (set.Auto is not { } auto)
        {
            return null;
        }

        try
        {
            var key = auto.Unwrap(options);
            if (set.OpensWith(key))
            {
                return key;
            }

            CryptographicOperations.ZeroMemory(key);
            console.Err.WriteLine($"{auto.Provider}: the HSM's key does not open this folder; give {set.Threshold} shares instead");
        }
        catch (SealpostException ex)
        {
            console.Err.WriteLine($"{auto.Provider}: {ex.Message}; give {set.Threshold} shares instead");
        }

        return null;
    }

    /// <summary>The master key of a sealed folder from k shares (standard input, one per line; or hidden prompts).</summary>
    public static byte[] ReadMasterKey(CliConsole console, ShareSet set)
    {
        var unsealer = new Unsealer(set);
        while (true)
        {
            var text = ReadShare(console, $"share ({unsealer.Status.Received + 1} of {set.Threshold})", optional: !console.InputIsTerminal);
            if (text is null)
            {
                throw new SealpostException(ErrorKind.Forbidden,
                    $"this data folder is sealed by {set.Describe()}: give {set.Threshold} shares on standard input, one per line ({unsealer.Status.Received} given)");
            }

            var progress = unsealer.Submit(text);
            if (progress.Error is { } error)
            {
                throw SealpostException.Invalid(error);
            }

            if (progress.Unsealed)
            {
                return unsealer.MasterKey.Result;
            }
        }
    }

    private static string ReadShare(CliConsole console, string prompt) =>
        ReadShare(console, prompt, optional: false) ?? throw SealpostException.Invalid($"{prompt}: expected on standard input");

    private static string? ReadShare(CliConsole console, string prompt, bool optional)
    {
        if (console.InputIsTerminal)
        {
            return Spectre.Console.AnsiConsole.Prompt(Spectre.Console.TextPromptExtensions.Secret(new Spectre.Console.TextPrompt<string>(prompt + ":"))).Trim();
        }

        var line = console.In.ReadLine()?.Trim();
        return string.IsNullOrEmpty(line) ? (optional ? null : throw SealpostException.Invalid($"{prompt}: expected on standard input")) : line;
    }

    private static HttpClient Client(ParseResult parse, CliConsole console, Option<string?> socketOption, Option<string?> caOption)
    {
        if (parse.GetValue(GlobalOptions.Server) is { } server)
        {
            var http = ApiAdministration.Client(server, parse.GetValue(caOption) is { } ca ? Path.GetFullPath(ca) : null);
            return http;
        }

        var options = new CommandContext(parse, console).LoadOptions();
        var path = parse.GetValue(socketOption) ?? SealedGate.SocketPath(options);
        if (!File.Exists(path))
        {
            throw SealpostException.NotFound($"no sealed server listens at '{path}' (is it running, or already unsealed? 'sealpost unseal --server https://HOST:PORT' reaches it over HTTPS)");
        }

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await unix.ConnectAsync(new UnixDomainSocketEndPoint(path), token);
                    return new NetworkStream(unix, ownsSocket: true);
                }
                catch (SocketException ex)
                {
                    unix.Dispose();
                    throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"cannot reach '{path}': {ex.SocketErrorCode} (is the server running and still sealed?)");
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://unseal/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    private static async Task<UnsealStatus> ReadStatusAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadFromJsonAsync<Problem>(ct);
            throw SealpostException.Invalid(problem?.Detail ?? $"the server answered {(int)response.StatusCode}");
        }

        return await response.Content.ReadFromJsonAsync<UnsealStatus>(ct) ?? throw SealpostException.Invalid("empty answer");
    }

    private sealed record Problem(string? Title, string? Detail);
}
