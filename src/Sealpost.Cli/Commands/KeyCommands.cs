using System.CommandLine;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Crypto.Vault;
using Sealpost.Server;
using Spectre.Console;

namespace Sealpost.Cli.Commands;

/// <summary>
/// Personal keys, the officers' trust anchor and account key versions waiting for two people. Making
/// and signing happen on each person's own machine ('personal-key', 'trust-anchor new|sign',
/// 'keys sign'); the server only checks and stores what they hand in.
/// </summary>
internal static class KeyCommands
{
    public static Command PersonalKey(CliConsole console)
    {
        var output = new Option<string>("--out") { Description = "Where to write the private key (mode 0600; keep it on your own machine)", Required = true };
        var publicOut = new Option<string>("--public-out") { Description = "Where to write the public key (hand it to the officers for the trust anchor)", Required = true };
        var generate = new Command("generate", "Make your personal Ed25519 signing key (officers and administrators who endorse key versions)") { output, publicOut };
        generate.SetAction(async (parse, _) =>
        {
            var publicKey = Sealpost.Crypto.Vault.PersonalKey.Generate(parse.GetValue(output)!, parse.GetValue(publicOut)!);
            await console.Out.WriteLineAsync($"Wrote {parse.GetValue(output)} (private) and {parse.GetValue(publicOut)} (public, {Fingerprint(publicKey)}).");
            return SealpostCli.Ok;
        });
        return new Command("personal-key", "Personal signing keys of security officers and administrators") { generate };
    }

    public static Command TrustAnchor(CliConsole console)
    {
        var command = new Command("trust-anchor", "The officers' trust anchor: who requests and approves account key versions, and the recovery key");
        command.Add(New(console));
        command.Add(Sign(console));
        command.Add(Show(console));
        command.Add(Apply(console, "pin", "Pin generation 1 in a data folder that has no trust anchor yet"));
        command.Add(Apply(console, "update", "Take the next generation (it must carry the threshold of the current officers' signatures)"));
        return command;
    }

    private static Command New(CliConsole console)
    {
        var officers = new Option<string[]>("--officer") { Description = "NAME=PUBLIC-KEY-FILE of a security officer (repeat)", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.OneOrMore, Required = true };
        var admins = new Option<string[]>("--admin") { Description = "NAME=PUBLIC-KEY-FILE of an administrator who may request key versions (repeat)", Arity = ArgumentArity.ZeroOrMore };
        var threshold = new Option<int>("--threshold") { Description = "How many officers must sign a change of this anchor (at least 2)", DefaultValueFactory = _ => 2 };
        var recovery = new Option<string[]>("--recovery-public-key") { Description = "The recovery public key file (repeat for older versions still in use, oldest first)", Arity = ArgumentArity.OneOrMore, Required = true };
        var after = new Option<string?>("--after") { Description = "The anchor in force ('trust-anchor show --out'): the new one is its next generation" };
        var output = new Option<string>("--out") { Description = "Where to write the unsigned anchor (each officer then runs 'trust-anchor sign')", Required = true };
        var command = new Command("new", "Write an unsigned trust anchor (offline)") { officers, admins, threshold, recovery, after, output };
        command.SetAction(async (parse, _) =>
        {
            var people = new List<TrustPerson>();
            foreach (var (spec, role) in parse.GetValue(officers)!.Select(s => (s, TrustPerson.Officer)).Concat((parse.GetValue(admins) ?? []).Select(s => (s, TrustPerson.Admin))))
            {
                var at = spec.IndexOf('=', StringComparison.Ordinal);
                if (at <= 0 || at == spec.Length - 1)
                {
                    throw SealpostException.Invalid($"--{role}: expected NAME=PUBLIC-KEY-FILE (got '{spec}')");
                }

                people.Add(new TrustPerson(spec[..at].Trim(), role, Sealpost.Crypto.Vault.PersonalKey.ReadPublic(spec[(at + 1)..])));
            }

            var recoveryKeys = parse.GetValue(recovery)!.Select((file, i) => new TrustedRecoveryKey(i + 1, KeyFiles.Read(file, KeyFiles.RecoveryPublicLabel, 32))).ToList();
            var previous = parse.GetValue(after) is { } file ? Sealpost.Crypto.Vault.TrustAnchor.ReadFile(file) : null;
            if (previous is not null)
            {
                // Recovery versions keep their numbers: a key already in force keeps its version; new ones follow.
                var next = previous.RecoveryKeys.Max(k => k.Version);
                recoveryKeys = recoveryKeys.Select(k => previous.RecoveryKeys.FirstOrDefault(p => p.PublicKey.AsSpan().SequenceEqual(k.PublicKey)) ?? k with { Version = ++next }).ToList();
            }

            var anchor = new Sealpost.Crypto.Vault.TrustAnchor(previous is null ? 1 : previous.Generation + 1, parse.GetValue(threshold), people, recoveryKeys, previous?.Fingerprint, []);
            anchor.Validate();
            await WriteAnchorAsync(parse.GetValue(output)!, anchor, overwrite: false);
            await console.Out.WriteLineAsync($"Wrote {parse.GetValue(output)}: generation {anchor.Generation}, {anchor.Fingerprint}. " +
                $"{(previous is null ? anchor.Threshold : previous.Threshold)} officers{(previous is null ? "" : " of the anchor in force")} sign it with 'sealpost trust-anchor sign'.");
            return SealpostCli.Ok;
        });
        return command;
    }

    private static Command Sign(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The trust anchor file (signed in place)" };
        var key = new Option<string>("--key") { Description = "Your personal private key file", Required = true };
        var command = new Command("sign", "Add your signature to a trust anchor file (offline; compare its fingerprint with the other officers first)") { file, key };
        command.SetAction(async (parse, _) =>
        {
            var anchor = Sealpost.Crypto.Vault.TrustAnchor.ReadFile(parse.GetValue(file)!);
            anchor.Validate();
            using var personal = Sealpost.Crypto.Vault.PersonalKey.Load(parse.GetValue(key)!);
            var signed = anchor.SignedBy(personal);
            await WriteAnchorAsync(parse.GetValue(file)!, signed, overwrite: true);
            await console.Out.WriteLineAsync($"Signed {signed.Fingerprint} (generation {signed.Generation}); it carries {signed.Signatures.Count} signature(s).");
            return SealpostCli.Ok;
        });
        return command;
    }

    private static Command Show(CliConsole console)
    {
        var output = new Option<string?>("--out") { Description = "Also write the generation in force to this file (for 'trust-anchor new --after')" };
        var command = new Command("show", "The trust anchor chain of this server: fingerprints, people, threshold") { output };
        command.SetAction(async (parse, ct) =>
        {
            var (runtime, actor) = await new CommandContext(parse, console).OpenOfflineAsync(ct);
            await using var _ = runtime;
            var chain = await runtime.KeyCustody.GetAnchorChainAsync(actor, ct);
            if (chain.Count == 0)
            {
                throw KeyTrust.NotPinned();
            }

            foreach (var anchor in chain)
            {
                await console.Out.WriteLineAsync($"generation {anchor.Generation}  {anchor.Fingerprint}  {anchor.Threshold} of {anchor.Officers.Count()} officers sign changes  recovery key v{anchor.CurrentRecoveryKey.Version}");
            }

            var table = new Table().AddColumns("Name", "Role", "Public key");
            foreach (var person in chain[^1].People)
            {
                table.AddRow(Markup.Escape(person.Name), person.Role, Fingerprint(person.PublicKey));
            }

            console.Spectre.Write(table);
            if (runtime.Trust.EndorsesLocally)
            {
                await console.Out.WriteLineAsync("This folder endorses key versions with its local officer pair (test rig or --dev): not the two-person rule.");
            }

            if (parse.GetValue(output) is { } file)
            {
                await WriteAnchorAsync(file, chain[^1], overwrite: false);
            }

            return SealpostCli.Ok;
        });
        return command;
    }

    private static Command Apply(CliConsole console, string name, string description)
    {
        var file = new Argument<string>("file") { Description = "The signed trust anchor file" };
        var command = new Command(name, description) { file };
        command.SetAction(async (parse, ct) =>
        {
            var anchor = Sealpost.Crypto.Vault.TrustAnchor.ReadFile(parse.GetValue(file)!);
            var (runtime, _) = await new CommandContext(parse, console).OpenOfflineAsync(ct);
            await using var __ = runtime;
            var actor = Actor.Officers(Environment.UserName, Environment.MachineName);
            var taken = name == "pin" ? await runtime.KeyCustody.PinAsync(actor, anchor, ct) : await runtime.KeyCustody.UpdateAnchorAsync(actor, anchor, ct);
            await console.Out.WriteLineAsync($"Trust anchor generation {taken.Generation} is in force: {taken.Fingerprint}. Running nodes take it within 30 seconds.");
            return SealpostCli.Ok;
        });
        return command;
    }

    public static Command Keys(CliConsole console)
    {
        var account = new Option<string?>("--account") { Description = "Only this account's versions" };
        var pending = new Option<bool>("--pending") { Description = "Only versions not endorsed (mail is not sealed to them)" };
        var list = new Command("list", "Account key versions: fingerprint and endorsement state (never a key)") { account, pending };
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            // One line per version (fingerprints are long; a table would wrap them): what officers compare and scripts read.
            foreach (var v in await admin.ListKeyVersionsAsync(parse.GetValue(account), parse.GetValue(pending), ct))
            {
                await console.Out.WriteLineAsync($"{v.Address} v{v.Version} {v.State} {v.Fingerprint} {v.CreatedAt:yyyy-MM-dd HH:mm} ({v.Reason})");
            }

            return SealpostCli.Ok;
        });

        var address = new Argument<string?>("address") { Description = "The account (omit with --all-pending)", Arity = ArgumentArity.ZeroOrOne };
        var version = new Option<int?>("--version") { Description = "The key version (default: the newest)" };
        var all = new Option<bool>("--all-pending") { Description = "Every version not endorsed yet, of every account you may endorse" };
        var key = new Option<string>("--key") { Description = "Your personal private key file", Required = true };
        var role = new Option<string>("--as") { Description = "'requester' (an administrator or officer asks for the version) or 'approver' (a different officer)", Required = true };
        role.AcceptOnlyFromAmong("requester", "approver");
        var fingerprint = new Option<string?>("--fingerprint") { Description = "Sign only if the version's fingerprint is this (as the requester or the account's owner read it to you)" };
        var endorse = new Command("endorse", "Sign account key versions with your personal key (the signature is made here; the server checks it against the trust anchor)") { address, version, all, key, role, fingerprint };
        endorse.SetAction(async (parse, ct) =>
        {
            var target = parse.GetValue(address);
            var everyPending = parse.GetValue(all);
            if ((target is null) == !everyPending)
            {
                throw SealpostException.Invalid("name one account, or give --all-pending");
            }

            using var personal = Sealpost.Crypto.Vault.PersonalKey.Load(parse.GetValue(key)!);
            var kind = parse.GetValue(role) == "approver" ? EndorsementKind.Approver : EndorsementKind.Requester;
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var versions = await admin.ListKeyVersionsAsync(target, everyPending, ct);
            if (!everyPending)
            {
                var wanted = parse.GetValue(version) ?? versions.Select(v => v.Version).DefaultIfEmpty(0).Max();
                versions = versions.Where(v => v.Version == wanted).ToList();
                if (versions.Count == 0)
                {
                    throw SealpostException.NotFound($"{target} has no key version {wanted}");
                }
            }

            var expected = parse.GetValue(fingerprint);
            var signed = 0;
            foreach (var v in versions.Where(v => v.State != "refused"))
            {
                if (expected is not null && !string.Equals(expected, v.Fingerprint, StringComparison.OrdinalIgnoreCase))
                {
                    throw new SealpostException(ErrorKind.Conflict, $"{v.Address} key version {v.Version} has fingerprint {v.Fingerprint}, not {expected}: not signed");
                }

                var endorsement = KeyTrust.Sign(personal, kind, v.AccountId, v.Version, v.PublicKey, v.SigningPublicKey ?? KeyVersionProof.NoSigningKey);
                var result = await admin.EndorseAsync(v.Address, v.Version, endorsement, ct);
                await console.Out.WriteLineAsync($"{v.Address} v{v.Version} {v.Fingerprint}: {result.State} ({result.Reason})");
                signed++;
            }

            if (signed == 0)
            {
                await console.Out.WriteLineAsync("Nothing to sign.");
            }

            return SealpostCli.Ok;
        });

        return new Command("keys", "Account key versions and their endorsements") { list, endorse };
    }

    /// <summary>
    /// Signs a slip copied from the console on the officer's own machine (no server, no data folder): a
    /// key version's request or an access grant's terms, shown in full first; prints the slip to paste back.
    /// </summary>
    public static Command SignSlip(CliConsole console)
    {
        var slip = new Argument<string>("slip") { Description = "The request slip as the console shows it (sealpost-endorse-request-v1:... or sealpost-grant-request-v1:...)" };
        var key = new Option<string>("--key") { Description = "Your personal private key file", Required = true };
        var role = new Option<string?>("--as") { Description = "For a key version: 'requester' or 'approver'" };
        role.AcceptOnlyFromAmong("requester", "approver");
        var fingerprint = new Option<string?>("--fingerprint") { Description = "For a key version: sign only if its fingerprint is this (as its owner read it to you)" };
        var command = new Command("sign", "Sign a request slip from the console with your personal key, offline; prints the slip to paste back") { slip, key, role, fingerprint };
        command.SetAction(async (parse, ct) =>
        {
            var text = parse.GetValue(slip)!.Trim();
            using var personal = Sealpost.Crypto.Vault.PersonalKey.Load(parse.GetValue(key)!);
            if (text.StartsWith(SigningSlips.GrantRequestPrefix, StringComparison.Ordinal))
            {
                var grant = SigningSlips.Read<GrantRequestSlip>(SigningSlips.GrantRequestPrefix, text);
                await console.Err.WriteLineAsync($"Approving grant {grant.Id}: {grant.Grantee} reads {grant.Mailbox} read-only {grant.NotBefore:yyyy-MM-dd HH:mm} to {grant.ExpiresAt:yyyy-MM-dd HH:mm} UTC, requested by {grant.RequestedBy}");
                await console.Err.WriteLineAsync($"  justification: {grant.Justification}");
                await console.Out.WriteLineAsync(SigningSlips.SignGrant(grant, personal));
                return SealpostCli.Ok;
            }

            var request = SigningSlips.Read<EndorseRequestSlip>(SigningSlips.EndorseRequestPrefix, text);
            var kind = parse.GetValue(role) switch
            {
                "approver" => EndorsementKind.Approver,
                "requester" => EndorsementKind.Requester,
                _ => throw SealpostException.Invalid("a key version is signed --as requester or --as approver"),
            };
            if (parse.GetValue(fingerprint) is { } expected && !string.Equals(expected, request.Fingerprint, StringComparison.OrdinalIgnoreCase))
            {
                throw new SealpostException(ErrorKind.Conflict, $"{request.Address} key version {request.Version} has fingerprint {request.Fingerprint}, not {expected}: not signed");
            }

            await console.Err.WriteLineAsync($"Endorsing {request.Address} key version {request.Version} {request.Fingerprint} as {parse.GetValue(role)}");
            await console.Out.WriteLineAsync(SigningSlips.SignEndorsement(request, personal, kind));
            return SealpostCli.Ok;
        });
        return command;
    }

    private static async Task WriteAnchorAsync(string path, Sealpost.Crypto.Vault.TrustAnchor anchor, bool overwrite)
    {
        if (!overwrite && File.Exists(path))
        {
            throw SealpostException.Conflict($"'{path}' already exists; not overwriting it");
        }

        try
        {
            var temporary = path + ".tmp";
            await File.WriteAllTextAsync(temporary, anchor.ToJson() + "\n");
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.Invalid($"cannot write '{path}': {e.Message}");
        }
    }

    private static string Fingerprint(byte[] key) => SigningSlips.Fingerprint(key);
}
