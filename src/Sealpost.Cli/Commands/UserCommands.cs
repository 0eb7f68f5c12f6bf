using System.CommandLine;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Spectre.Console;

namespace Sealpost.Cli.Commands;

internal static class UserCommands
{
    public static Command User(CliConsole console)
    {
        var address = new Argument<string>("address") { Description = "The account's address" };
        var display = new Option<string?>("--display-name") { Description = "Full name" };
        var quota = new Option<string?>("--quota") { Description = "Storage quota, e.g. 2G (default: Limits:DefaultQuotaBytes; 0 for none)" };
        var enrol = new Option<bool>("--enrol")
        {
            Description = "No password: print a one-time enrolment token (shown once, expiring) that the person redeems with a password of their own",
        };
        var add = new Command("add", "Add an account; the password (provisional until its owner changes it) is read from standard input (or prompted for)") { address, display, quota, enrol };
        add.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var parsedAddress = MailAddress.Parse(parse.GetValue(address)!); // fail on a bad address before asking for a password
            long? quotaBytes = parse.GetValue(quota) is { } q ? CommandContext.ParseSize(q) : null;
            await using var admin = await context.OpenAdministrationAsync(ct);
            if (parse.GetValue(enrol))
            {
                var (created, token, expires) = await admin.AddUserForEnrolmentAsync(parsedAddress.ToString(), parse.GetValue(display), quotaBytes, ct);
                await console.Out.WriteLineAsync($"Added account {created.Address} (quota {CommandContext.FormatSize(created.QuotaBytes)}); mail to it is accepted now.");
                await console.Out.WriteLineAsync($"Enrolment token (shown once; give it to the person only; redeem before {expires:yyyy-MM-dd HH:mm} UTC with POST /api/v1/enrol):");
                await console.Out.WriteLineAsync(token);
                return SealpostCli.Ok;
            }

            var password = console.ReadSecret("password");
            var account = await admin.AddUserAsync(parsedAddress.ToString(), password, parse.GetValue(display), quotaBytes, ct);
            await console.Out.WriteLineAsync($"Added account {account.Address} (quota {CommandContext.FormatSize(account.QuotaBytes)}).");
            return SealpostCli.Ok;
        });

        var domain = new Option<string?>("--domain") { Description = "Only accounts of this domain" };
        var list = new Command("list", "List accounts") { domain };
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var table = new Table().AddColumns("Address", "Name", "State", "Quota", "Used");
            foreach (var a in await admin.ListAccountsAsync(parse.GetValue(domain), ct))
            {
                table.AddRow(Markup.Escape(a.Address), Markup.Escape(a.DisplayName), a.State,
                    CommandContext.FormatSize(a.QuotaBytes), a.UsedBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) + " B");
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        var passwdAddress = new Argument<string>("address") { Description = "The account's address" };
        var reset = new Option<bool>("--reset")
        {
            Description = "Reset without the old password: new keys; older mail readable again only through recovery; the owner is told",
        };
        var resetEnrol = new Option<bool>("--enrol")
        {
            Description = "With --reset: no password at all; print a one-time enrolment token the person redeems with a password of their own",
        };
        var passwd = new Command("passwd", "Change a password: standard input gives the old password, then the new one (with --reset, only the new one)") { passwdAddress, reset, resetEnrol };
        passwd.SetAction(async (parse, ct) =>
        {
            var (runtime, actor) = await new CommandContext(parse, console).OpenOfflineAsync(ct);
            await using var _ = runtime;
            var account = await runtime.Directory.RequireAccountAsync(parse.GetValue(passwdAddress)!, ct);
            if (account.State == Sealpost.Core.Directory.AccountState.Deleted)
            {
                throw Sealpost.Core.SealpostException.Conflict($"account '{account.Address}' is deleted");
            }

            var isReset = parse.GetValue(reset);
            if (parse.GetValue(resetEnrol))
            {
                if (!isReset)
                {
                    throw Sealpost.Core.SealpostException.Invalid("--enrol goes with --reset");
                }

                var (token, expires) = await runtime.Directory.ResetForEnrolmentAsync(actor, account.Address.ToString(), ct);
                await console.Out.WriteLineAsync($"Password of {account.Address} reset: new keys made, every credential revoked, owner notified.");
                await console.Out.WriteLineAsync($"Enrolment token (shown once; give it to the person only; redeem before {expires:yyyy-MM-dd HH:mm} UTC with POST /api/v1/enrol):");
                await console.Out.WriteLineAsync(token);
                return SealpostCli.Ok;
            }

            var oldPassword = isReset ? null : console.ReadSecret("old password");
            await runtime.Directory.SetPasswordAsync(actor, account.Address.ToString(), console.ReadSecret("new password"), oldPassword, ct);
            await console.Out.WriteLineAsync(isReset
                ? $"Password of {account.Address} reset: new keys made, app passwords revoked, owner notified."
                : $"Password of {account.Address} changed.");
            return SealpostCli.Ok;
        });

        var rotateAddress = new Argument<string>("address") { Description = "The account's address" };
        var rotate = new Command("rotate-key", "Give an account a new key pair and re-wrap everything to it (the owner's password on standard input)") { rotateAddress };
        rotate.SetAction(async (parse, ct) =>
        {
            var (runtime, actor) = await new CommandContext(parse, console).OpenOfflineAsync(ct);
            await using var _ = runtime;
            await runtime.Directory.RotateKeyAsync(actor, parse.GetValue(rotateAddress)!, console.ReadSecret("password"), ct);
            await console.Out.WriteLineAsync($"Key of {MailAddress.Parse(parse.GetValue(rotateAddress)!)} rotated; app passwords must be issued again.");
            return SealpostCli.Ok;
        });

        var appAddress = new Argument<string>("address") { Description = "The account's address" };
        var label = new Option<string>("--label") { Description = "What the app password is for (e.g. 'phone')", Required = true };
        var appPassword = new Command("app-password", "Issue an app password for a mail client (the owner's password on standard input); shown once") { appAddress, label };
        appPassword.SetAction(async (parse, ct) =>
        {
            var (runtime, actor) = await new CommandContext(parse, console).OpenOfflineAsync(ct);
            await using var _ = runtime;
            var secret = await runtime.Directory.CreateAppPasswordAsync(actor, parse.GetValue(appAddress)!, console.ReadSecret("password"), parse.GetValue(label)!, ct);
            await console.Out.WriteLineAsync(secret);
            return SealpostCli.Ok;
        });

        var lockouts = new Command("lockouts", "List accounts and client addresses refused logins now (too many failures), on every node");
        lockouts.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var locked = await admin.ListLockoutsAsync(ct);
            if (locked.Count == 0)
            {
                await console.Out.WriteLineAsync("No lockouts.");
                return SealpostCli.Ok;
            }

            var table = new Table().AddColumns("Kind", "Account or address", "Failures", "Refused until (UTC)");
            foreach (var l in locked.OrderBy(l => l.Kind).ThenBy(l => l.Subject, StringComparer.Ordinal))
            {
                table.AddRow(l.Kind, Markup.Escape(l.Subject), l.Failures.ToString(System.Globalization.CultureInfo.InvariantCulture), l.Until.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        var unlockAddress = new Argument<string>("address") { Description = "The account's address" };
        var unlock = new Command("unlock", "Lift an account's login lockout (after checking with its owner)") { unlockAddress };
        unlock.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            await admin.UnlockAsync(parse.GetValue(unlockAddress)!, ct);
            await console.Out.WriteLineAsync($"Unlocked {Sealpost.Core.Addressing.MailAddress.Parse(parse.GetValue(unlockAddress)!)}.");
            return SealpostCli.Ok;
        });

        return new Command("user", "Manage accounts")
        {
            lockouts,
            unlock,
            add,
            list,
            passwd,
            rotate,
            appPassword,
            StateCommand(console, "suspend", "Suspend an account: no logins, mail still accepted", AccountState.Suspended, "Suspended"),
            StateCommand(console, "activate", "Re-activate a suspended account", AccountState.Active, "Activated"),
            StateCommand(console, "delete", "Delete an account: no logins, mail refused, address kept reserved; shredded after Limits:DeletedAccountRetentionDays", AccountState.Deleted, "Deleted"),
            Shred(console),
        };
    }

    private static Command Shred(CliConsole console)
    {
        var address = new Argument<string>("address") { Description = "A suspended or deleted account" };
        var command = new Command("shred", "Crypto-shred a suspended or deleted account now: every key wrap removed, its mail deleted (not undoable)") { address };
        command.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            await admin.ShredAsync(parse.GetValue(address)!, ct);
            await console.Out.WriteLineAsync($"Shredded {MailAddress.Parse(parse.GetValue(address)!)}: its keys and mail are gone; the address stays reserved.");
            return SealpostCli.Ok;
        });
        return command;
    }

    private static Command StateCommand(CliConsole console, string name, string description, AccountState state, string done)
    {
        var address = new Argument<string>("address") { Description = "The account's address" };
        var command = new Command(name, description) { address };
        command.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            await admin.SetStateAsync(parse.GetValue(address)!, state, ct);
            await console.Out.WriteLineAsync($"{done} {MailAddress.Parse(parse.GetValue(address)!)}.");
            return SealpostCli.Ok;
        });
        return command;
    }
}
