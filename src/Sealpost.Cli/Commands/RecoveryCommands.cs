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
        var address = new Argument<string?>("address") { Description = "The account whose old mail is restored (its key versions lost at a reset)", Arity = ArgumentArity.ZeroOrOne };
        var grant = new Option<string?>("--grant") { Description = "Instead: the approved access grant whose mailbox keys go to its grantee" };
        var requestOut = new Option<string>("--out") { Description = "Where to write the request file (take it to the officers' offline machine)", Required = true };
        var request = new Command("request", "Export a request for 'sealpost recovery open': an account's lost key versions (restore), or an approved grant's (--grant)") { address, grant, requestOut };
        request.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(requestOut)!;
            var target = parse.GetValue(address);
            var grantId = parse.GetValue(grant);
            if ((target is null) == (grantId is null))
            {
                throw SealpostException.Invalid("name the account to restore, or give --grant ID");
            }

            RefuseExisting(path);
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var made = grantId is not null ? await admin.RequestGrantKeysAsync(grantId, ct) : await admin.RequestRestoreAsync(target!, ct);
            Write(path, made.ToJson());
            await console.Out.WriteLineAsync(made.Purpose == RecoveryPurpose.Grant
                ? $"Wrote {path}: grant {made.Grant!.GrantId}, {made.Address} key versions {string.Join(", ", made.Keys.Select(k => k.Version))} to {made.HolderAddress} version {made.HolderVersion} (request {made.Id})."
                : $"Wrote {path}: restore of {made.Address} key versions {string.Join(", ", made.Keys.Select(k => k.Version))} to version {made.HolderVersion} (request {made.Id}).");
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
            if (made.Grant is { } terms)
            {
                await console.Out.WriteLineAsync($"  grant {terms.GrantId}: {made.HolderAddress} reads {made.Address} read-only {terms.NotBefore:yyyy-MM-dd HH:mm} to {terms.ExpiresAt:yyyy-MM-dd HH:mm} UTC, approved by {string.Join(" and ", terms.Approvals.Select(a => a.Name))}");
                await console.Out.WriteLineAsync($"  justification: {terms.Justification}");
            }

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

    public static Command Grants(CliConsole console)
    {
        var grantee = new Option<string>("--grantee") { Description = "Who reads (an account)", Required = true };
        var mailbox = new Option<string>("--mailbox") { Description = "Whose mailbox (an account)", Required = true };
        var why = new Option<string>("--justification") { Description = "Why, under which authority, which case (10 to 2000 characters)", Required = true };
        var from = new Option<DateTimeOffset?>("--from") { Description = "When reading may start (default: now), e.g. 2026-12-07T09:00Z" };
        var until = new Option<DateTimeOffset>("--until") { Description = "When the grant ends and its keys are deleted (at most 90 days)", Required = true };
        var request = new Command("request", "Ask that one person read another's mailbox, read-only, for a time (two security officers approve)") { grantee, mailbox, why, from, until };
        request.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var g = await admin.RequestGrantAsync(parse.GetValue(grantee)!, parse.GetValue(mailbox)!, parse.GetValue(why)!, parse.GetValue(from), parse.GetValue(until), ct);
            await console.Out.WriteLineAsync($"Grant {g.Id}: {g.Grantee} to read {g.Mailbox} from {g.NotBefore:yyyy-MM-dd HH:mm} to {g.ExpiresAt:yyyy-MM-dd HH:mm} UTC; waits for two officers' approvals.");
            return SealpostCli.Ok;
        });

        var list = new Command("list", "Access grants: who reads whose mailbox, why, when, state");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            foreach (var g in await admin.ListGrantsAsync(ct))
            {
                var approved = g.ApprovedBy.Count == 0 ? "" : $" approved by {string.Join(", ", g.ApprovedBy)}";
                await console.Out.WriteLineAsync($"{g.Id} {g.State} {g.Grantee} reads {g.Mailbox} {g.NotBefore:yyyy-MM-dd HH:mm}..{g.ExpiresAt:yyyy-MM-dd HH:mm} requested by {g.RequestedBy}{approved}");
            }

            return SealpostCli.Ok;
        });

        var id = new Argument<string>("id") { Description = "The grant's id (from 'grants list')" };
        var key = new Option<string>("--key") { Description = "Your personal private key file (a security officer of the trust anchor)", Required = true };
        var approve = new Command("approve", "Sign a grant's terms with your personal key and hand in the approval (shown first)") { id, key };
        approve.SetAction(async (parse, ct) =>
        {
            using var personal = PersonalKey.Load(parse.GetValue(key)!);
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var g = await admin.GetGrantAsync(parse.GetValue(id)!, ct);
            await console.Out.WriteLineAsync($"Approving: {g.Grantee} reads {g.Mailbox} read-only {g.NotBefore:yyyy-MM-dd HH:mm} to {g.ExpiresAt:yyyy-MM-dd HH:mm} UTC, requested by {g.RequestedBy}");
            await console.Out.WriteLineAsync($"  justification: {g.Justification}");
            var signed = await admin.ApproveGrantAsync(g.Id, personal.PublicKey, personal.Sign(Convert.FromBase64String(g.ApprovalPayload)), ct);
            await console.Out.WriteLineAsync($"Grant {signed.Id}: {signed.State} (approved by {string.Join(", ", signed.ApprovedBy)}).");
            return SealpostCli.Ok;
        });

        var revokeId = new Argument<string>("id") { Description = "The grant's id" };
        var revoke = new Command("revoke", "End a grant now: its keys are deleted") { revokeId };
        revoke.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var g = await admin.RevokeGrantAsync(parse.GetValue(revokeId)!, ct);
            await console.Out.WriteLineAsync($"Grant {g.Id} revoked; its keys are deleted.");
            return SealpostCli.Ok;
        });

        return new Command("grants", "Two-officer access grants: the only way anyone but the owner reads a mailbox") { request, list, approve, revoke };
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
