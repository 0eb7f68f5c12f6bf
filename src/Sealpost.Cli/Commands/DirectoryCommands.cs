using System.CommandLine;
using Sealpost.Core.Addressing;
using Spectre.Console;

namespace Sealpost.Cli.Commands;

/// <summary>tenant, domain, alias and group commands.</summary>
internal static class DirectoryCommands
{
    public static Command Tenant(CliConsole console)
    {
        var name = new Argument<string>("name") { Description = "Short name: a-z, 0-9, '-'" };
        var display = new Option<string?>("--display-name") { Description = "Human-readable name of the department" };
        var add = new Command("add", "Add a tenant (department)") { name, display };
        add.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var tenant = await admin.AddTenantAsync(parse.GetValue(name)!, parse.GetValue(display), ct);
            await console.Out.WriteLineAsync($"Added tenant {tenant.Name}.");
            return SealpostCli.Ok;
        });

        var list = new Command("list", "List tenants");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var table = new Table().AddColumns("Tenant", "Display name", "Created");
            foreach (var t in await admin.ListTenantsAsync(ct))
            {
                table.AddRow(Markup.Escape(t.Name), Markup.Escape(t.DisplayName), t.CreatedAt.ToString("yyyy-MM-dd"));
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        return new Command("tenant", "Manage tenants (departments)") { add, list };
    }

    public static Command Domain(CliConsole console)
    {
        var name = new Argument<string>("domain") { Description = "Domain name (Unicode or A-label)" };
        var tenant = new Option<string>("--tenant") { Description = "Owning tenant", DefaultValueFactory = _ => "default" };
        var add = new Command("add", "Add a mail domain") { name, tenant };
        add.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var domain = DomainName.Parse((await admin.AddDomainAsync(parse.GetValue(name)!, parse.GetValue(tenant)!, ct)).Name);
            await console.Out.WriteLineAsync($"Added domain {domain.Unicode}" + (domain.Unicode != domain.Ascii ? $" ({domain.Ascii})." : "."));
            return SealpostCli.Ok;
        });

        var list = new Command("list", "List mail domains");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var table = new Table().AddColumns("Domain", "A-label", "Tenant", "Accounts");
            foreach (var d in await admin.ListDomainsAsync(ct))
            {
                var name = DomainName.Parse(d.Name);
                table.AddRow(Markup.Escape(name.Unicode), name.Ascii, Markup.Escape(d.Tenant), d.Accounts?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        var removeName = new Argument<string>("domain") { Description = "Domain to remove (must have no addresses left)" };
        var remove = new Command("remove", "Remove an empty mail domain") { removeName };
        remove.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            await admin.RemoveDomainAsync(parse.GetValue(removeName)!, ct);
            await console.Out.WriteLineAsync($"Removed domain {DomainName.Parse(parse.GetValue(removeName)!).Unicode}.");
            return SealpostCli.Ok;
        });

        var dnsName = new Argument<string>("domain") { Description = "A domain hosted here" };
        var dns = new Command("dns", "Print every DNS record the domain needs, as zone-file lines (MX, SPF, DKIM, DMARC, SRV, autoconfig, TLS-RPT)") { dnsName };
        dns.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            foreach (var record in await admin.DomainRecordsAsync(parse.GetValue(dnsName)!, ct))
            {
                await console.Out.WriteLineAsync($"; {record.Purpose}\n{record.Record}");
            }

            return SealpostCli.Ok;
        });

        var checkName = new Argument<string>("domain") { Description = "A domain hosted here" };
        var dnsServer = new Option<string[]>("--dns-server") { Description = "Resolver to ask (IP or IP:PORT; repeatable; default: the system's)", AllowMultipleArgumentsPerToken = true };
        var check = new Command("check", "Ask DNS for every record the domain needs and say which are missing or different (exit 1 if any)") { checkName, dnsServer };
        check.SetAction(async (parse, ct) =>
        {
            var servers = (parse.GetValue(dnsServer) ?? []).Select(s => System.Net.IPEndPoint.TryParse(s.Contains(':', StringComparison.Ordinal) ? s : s + ":53", out var e) ? e
                : throw Sealpost.Core.SealpostException.Invalid($"--dns-server '{s}' is not an IP address or IP:PORT")).ToArray();
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var records = (await admin.DomainRecordsAsync(parse.GetValue(checkName)!, ct)).Select(r => new Sealpost.Domain.DomainRecord(r.Purpose, r.Name, r.Type, r.Value)).ToList();
            var options = servers.Length > 0 ? new DnsClient.LookupClientOptions(servers) : new DnsClient.LookupClientOptions();
            options.UseCache = false;
            options.Timeout = TimeSpan.FromSeconds(5);
            options.Retries = 1;
            options.ThrowDnsErrors = false;
            var results = await Sealpost.Delivery.DomainCheck.CheckAsync(records, new DnsClient.LookupClient(options), ct);
            foreach (var r in results)
            {
                await console.Out.WriteLineAsync(r.State switch
                {
                    Sealpost.Delivery.RecordState.Ok => $"ok         {r.Record.Name} {r.Record.Type} ({r.Record.Purpose})",
                    Sealpost.Delivery.RecordState.Missing => $"missing    {r.Record.Name} {r.Record.Type} ({r.Record.Purpose}): publish {r.Record.ZoneLine}",
                    _ => $"different  {r.Record.Name} {r.Record.Type} ({r.Record.Purpose}): found {r.Found}; publish {r.Record.ZoneLine}",
                });
            }

            var wrong = results.Count(r => r.State != Sealpost.Delivery.RecordState.Ok);
            await console.Out.WriteLineAsync(wrong == 0 ? $"All {results.Count} records are in place." : $"{wrong} of {results.Count} records are missing or different.");
            return wrong == 0 ? SealpostCli.Ok : SealpostCli.Failed;
        });

        return new Command("domain", "Manage mail domains") { add, list, remove, dns, check };
    }

    public static Command Alias(CliConsole console)
    {
        var alias = new Argument<string>("alias") { Description = "The alias address (in a local domain)" };
        var target = new Argument<string>("target") { Description = "Where mail to the alias goes (account, group, alias or remote address)" };
        var add = new Command("add", "Add an alias") { alias, target };
        add.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            await admin.AddAliasAsync(parse.GetValue(alias)!, parse.GetValue(target)!, ct);
            await console.Out.WriteLineAsync($"Added alias {MailAddress.Parse(parse.GetValue(alias)!)} -> {MailAddress.Parse(parse.GetValue(target)!)}.");
            return SealpostCli.Ok;
        });

        var removeAlias = new Argument<string>("alias") { Description = "The alias address" };
        var remove = new Command("remove", "Remove an alias") { removeAlias };
        remove.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            await admin.RemoveAliasAsync(parse.GetValue(removeAlias)!, ct);
            await console.Out.WriteLineAsync($"Removed alias {MailAddress.Parse(parse.GetValue(removeAlias)!)}.");
            return SealpostCli.Ok;
        });

        var list = new Command("list", "List aliases");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var table = new Table().AddColumns("Alias", "Target");
            foreach (var a in await admin.ListAliasesAsync(ct))
            {
                table.AddRow(Markup.Escape(a.Alias), Markup.Escape(a.Target ?? ""));
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        return new Command("alias", "Manage aliases") { add, remove, list };
    }

    public static Command Group(CliConsole console)
    {
        var address = new Argument<string>("address") { Description = "The group's address (in a local domain)" };
        var display = new Option<string?>("--display-name") { Description = "Human-readable name" };
        var add = new Command("add", "Add a distribution group") { address, display };
        add.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var group = await admin.AddGroupAsync(parse.GetValue(address)!, parse.GetValue(display), ct);
            await console.Out.WriteLineAsync($"Added group {group.Address}.");
            return SealpostCli.Ok;
        });

        var group = new Argument<string>("group") { Description = "The group's address" };
        var addMember = new Option<string[]>("--add") { Description = "Add a member (repeatable)" };
        var removeMember = new Option<string[]>("--remove") { Description = "Remove a member (repeatable)" };
        var members = new Command("members", "Show a group's members, after adding or removing some") { group, addMember, removeMember };
        members.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var groupAddress = MailAddress.Parse(parse.GetValue(group)!);
            await admin.ChangeGroupMembersAsync(groupAddress.ToString(), parse.GetValue(addMember) ?? [], parse.GetValue(removeMember) ?? [], ct);
            var found = (await admin.ListGroupsAsync(ct)).FirstOrDefault(g => MailAddress.Parse(g.Address).Equals(groupAddress))
                ?? throw Sealpost.Core.SealpostException.NotFound($"no group '{groupAddress}'");
            var table = new Table().AddColumns($"Members of {Markup.Escape(found.Address)}", "Kind");
            foreach (var m in found.Members)
            {
                table.AddRow(Markup.Escape(m.Address), m.Kind);
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        var list = new Command("list", "List groups");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var table = new Table().AddColumns("Group", "Display name", "Members");
            foreach (var g in await admin.ListGroupsAsync(ct))
            {
                table.AddRow(Markup.Escape(g.Address), Markup.Escape(g.DisplayName), g.Members.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        return new Command("group", "Manage distribution groups") { add, members, list };
    }
}
