using System.CommandLine;
using Sealpost.Mime.Dkim;
using Sealpost.Server;

namespace Sealpost.Cli.Commands;

/// <summary><c>sealpost dkim create|rotate|show --domain D</c>: DKIM signing keys and the DNS TXT records to publish.</summary>
internal static class DkimCommands
{
    public static Command Dkim(CliConsole console)
    {
        Command Make(string name, string description, bool rotate)
        {
            var domain = new Option<string>("--domain") { Description = "One of this server's domains", Required = true };
            var algorithm = new Option<string>("--algorithm") { Description = "rsa (RSA-2048, read by every verifier) or ed25519 (RFC 8463)", DefaultValueFactory = _ => "rsa" };
            algorithm.AcceptOnlyFromAmong("rsa", "ed25519");
            var selector = new Option<string?>("--selector") { Description = "The selector (default: sp<date><r|e>)" };
            var import = new Option<string?>("--private-key") { Description = "Import this RSA private key (PEM, as OpenDKIM keeps it) instead of making a new one" };
            var command = new Command(name, description) { domain, algorithm, selector };
            if (!rotate)
            {
                command.Add(import);
            }

            command.SetAction(async (parse, ct) =>
            {
                var pem = !rotate && parse.GetValue(import) is { } file ? await File.ReadAllTextAsync(file, ct) : null;
                await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
                var key = await admin.MakeDkimAsync(parse.GetValue(domain)!, parse.GetValue(algorithm)!, parse.GetValue(selector), rotate, pem, ct);
                await console.Out.WriteLineAsync($"{(rotate ? "Rotated" : "Created")} the DKIM key of {key.Domain}: selector {key.Selector}, {key.Algorithm}. Publish this TXT record:");
                await console.Out.WriteLineAsync(key.ZoneLine);
                if (rotate)
                {
                    await console.Out.WriteLineAsync("Keep the previous selector's record published until mail signed with it has been delivered (a few days).");
                }

                return SealpostCli.Ok;
            });
            return command;
        }

        var showDomain = new Option<string>("--domain") { Description = "One of this server's domains", Required = true };
        var show = new Command("show", "The domain's DKIM key and the TXT records to publish") { showDomain };
        show.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var keys = await admin.ShowDkimAsync(parse.GetValue(showDomain)!, ct);
            await console.Out.WriteLineAsync($"Active: selector {keys.Selector}, {keys.Algorithm}, created {keys.Created.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
            await console.Out.WriteLineAsync(keys.ZoneLine);
            foreach (var old in keys.Previous)
            {
                await console.Out.WriteLineAsync($"Retired {old.Retired.UtcDateTime:yyyy-MM-dd HH:mm} UTC: selector {old.Selector}, {old.Algorithm}: {old.DnsRecord}");
            }

            return SealpostCli.Ok;
        });

        return new Command("dkim", "DKIM signing keys for outbound mail (RFC 6376, RFC 8463)")
        {
            Make("create", "Make a domain's first DKIM key and print its DNS record", rotate: false),
            Make("rotate", "Replace a domain's DKIM key with a new selector and print its DNS record", rotate: true),
            show,
        };
    }
}
