using Sealpost.Core;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Core.Storage;

namespace Sealpost.Domain;

/// <summary>The outcome of expanding one recipient address.</summary>
public sealed record Expansion(
    bool Known,
    IReadOnlyList<Account> LocalAccounts,
    IReadOnlyList<MailAddress> RemoteAddresses);

/// <summary>
/// Expands an address to the accounts and remote addresses that receive it: aliases are followed,
/// groups are expanded recursively, each account appears once, loops and over-deep nesting stop
/// expansion of that branch (logged) instead of failing the delivery. Deleted accounts receive nothing.
/// </summary>
public sealed class RecipientResolver(IDirectoryStore directory, int maxNesting, int maxExpanded, LogRedactor redactor, ILogger<RecipientResolver> logger)
{
    public async Task<Expansion> ExpandAsync(MailAddress address, CancellationToken ct = default)
    {
        var accounts = new Dictionary<long, Account>();
        var remote = new Dictionary<string, MailAddress>(StringComparer.Ordinal);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var root = await directory.ResolveAddressAsync(address, ct);
        if (root is null)
        {
            return new Expansion(false, [], []);
        }

        await VisitAsync(root, 0);
        return new Expansion(true, accounts.Values.OrderBy(a => a.Id).ToList(), remote.Values.ToList());

        async Task VisitAsync(AddressEntry entry, int depth)
        {
            if (!visited.Add(entry.Address.Key))
            {
                return; // a loop, or the same member reached twice: once is enough
            }

            if (depth > maxNesting)
            {
                CoreLog.ExpansionStopped(logger, redactor.Address(address), "nesting deeper than Limits:MaxGroupNesting");
                return;
            }

            if (accounts.Count + remote.Count >= maxExpanded)
            {
                CoreLog.ExpansionStopped(logger, redactor.Address(address), "more than Limits:MaxExpandedRecipients");
                return;
            }

            switch (entry.Kind)
            {
                case AddressKind.Account when entry.AccountId is { } id:
                    var account = await directory.GetAccountAsync(id, ct);
                    if (account is { State: not AccountState.Deleted })
                    {
                        accounts.TryAdd(account.Id, account);
                    }

                    break;
                case AddressKind.Alias when entry.AliasTarget is { } target:
                    await VisitTargetAsync(target, depth + 1);
                    break;
                case AddressKind.Group when entry.GroupId is { } groupId:
                    foreach (var member in await directory.ListGroupMembersAsync(groupId, ct))
                    {
                        await VisitTargetAsync(member, depth + 1);
                    }

                    break;
            }
        }

        async Task VisitTargetAsync(MailAddress target, int depth)
        {
            var next = await directory.ResolveAddressAsync(target, ct);
            if (next is not null)
            {
                await VisitAsync(next, depth);
            }
            else if (await directory.FindDomainAsync(target.Domain, ct) is null)
            {
                remote.TryAdd(target.Key, target);
            }
        }
    }
}
