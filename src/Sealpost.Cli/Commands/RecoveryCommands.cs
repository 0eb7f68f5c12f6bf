using System.CommandLine;
using Sealpost.Core;
using Sealpost.Crypto.Vault;
using Sealpost.Server;

namespace Sealpost.Cli.Commands;

/// <summary>
/// Offline recovery: the server exports a request file, the security officers combine their shares of
/// the recovery key on an offline machine and answer it with a response file, the server applies it.
/// Only the named key versions, sealed to the holder's endorsed key version, ever leave that machine.
/// </summary>
internal static class RecoveryCommands
{
    public static Command Recovery(CliConsole console)
    {
        var address = new Argument<string>("address") { Description = "The account whose old mail is restored (its key versions lost at a reset)" };
        var requestOut = new Option<string>("--out") { Description = "Where to write the request file (take it to the officers' offline machine)", Required = true };
        var request = new Command("request", "Export a restore request: the account's lost key versions, for 'sealpost recovery open'") { address, requestOut };
        request.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(requestOut)!;
            RefuseExisting(path);
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var made = await admin.RequestRestoreAsync(parse.GetValue(address)!, ct);
            Write(path, made.ToJson());
            await console.Out.WriteLineAsync($"Wrote {path}: restore of {made.Address} key versions {string.Join(", ", made.Keys.Select(k => k.Version))} to version {made.HolderVersion} (request {made.Id}).");
            return SealpostCli.Ok;
        });

        var requestIn = new Option<string>("--request") { Description = "The request file the server exported", Required = true };
        var shares = new Option<string[]>("--share") { Description = "A recovery share file (give at least the threshold of them)", AllowMultipleArgumentsPerToken = true };
        var whole = new Option<string?>("--key") { Description = "The whole recovery private key file, where it was not split" };
        var fingerprint = new Option<string>("--anchor-fingerprint") { Description = "The fingerprint of the trust anchor the officers pinned (generation 1), as you hold it", Required = true };
        var responseOut = new Option<string>("--out") { Description = "Where to write the response file (take it back to the server)", Required = true };
        var open = new Command("open", "On the officers' offline machine: combine the shares and answer a request (no data folder, no network)") { requestIn, shares, whole, fingerprint, responseOut };
        open.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(responseOut)!;
            RefuseExisting(path);
            var made = RecoveryRequest.FromJson(Read(parse.GetValue(requestIn)!));
            var shareFiles = parse.GetValue(shares) ?? [];
            var keyFile = parse.GetValue(whole);
            if ((shareFiles.Length == 0) == (keyFile is null))
            {
                throw SealpostException.Invalid("give the officers' --share files, or --key for an unsplit recovery key");
            }

            var recoveryKey = keyFile is not null
                ? KeyFiles.Read(keyFile, KeyFiles.RecoveryPrivateLabel, 32)
                : RecoveryShares.Combine(shareFiles.Select(Read));
            RecoveryResponse response;
            try
            {
                response = await RecoveryOpening.OpenAsync(made, recoveryKey, parse.GetValue(fingerprint)!, ct);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(recoveryKey);
            }

            Write(path, response.ToJson());
            await console.Out.WriteLineAsync($"Request {made.Id} ({made.Purpose}), made by {made.RequestedBy} at {made.RequestedAt:yyyy-MM-dd HH:mm} UTC:");
            await console.Out.WriteLineAsync($"  {made.Address} key versions {string.Join(", ", response.Keys.Select(k => k.Version))} sealed to {made.HolderAddress} key version {made.HolderVersion} (endorsed under anchor {parse.GetValue(fingerprint)}).");
            await console.Out.WriteLineAsync($"Wrote {path}. Nothing else leaves this machine.");
            return SealpostCli.Ok;
        });

        var responseIn = new Argument<string>("file") { Description = "The response file from 'sealpost recovery open'" };
        var apply = new Command("apply", "Apply a response: the handed-back key versions open at the owner's next login") { responseIn };
        apply.SetAction(async (parse, ct) =>
        {
            var response = RecoveryResponse.FromJson(Read(parse.GetValue(responseIn)!));
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var versions = await admin.ApplyRecoveryAsync(response, ct);
            await console.Out.WriteLineAsync($"Request {response.RequestId}: key versions {string.Join(", ", versions)} handed back; the owner's old mail opens at their next login.");
            return SealpostCli.Ok;
        });

        return new Command("recovery", "Offline recovery of old mail by the security officers (request, open, apply)") { request, open, apply };
    }

    private static void RefuseExisting(string path)
    {
        if (File.Exists(path))
        {
            throw SealpostException.Conflict($"'{path}' already exists; not overwriting it");
        }
    }

    private static string Read(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Length > 16 << 20 ? throw SealpostException.Invalid($"'{path}' is too large for a recovery file") : File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.NotFound($"cannot read '{path}': {e.Message}");
        }
    }

    private static void Write(string path, string content)
    {
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(directory);
            DataFolder.WritePrivateFile(path, System.Text.Encoding.UTF8.GetBytes(content + "\n"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.Invalid($"cannot write '{path}': {e.Message}");
        }
    }
}
