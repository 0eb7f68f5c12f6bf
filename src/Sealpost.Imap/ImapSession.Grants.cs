using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Domain;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

/// <summary>Another account's mailboxes a grantee reads under an access grant: read-only, each read audited by the domain.</summary>
internal sealed record GrantedAccess(string Owner, MailAccess Access, KeywordNames Keywords, IAccountSession OwnerKeys);

// The "Other Users" namespace (RFC 2342 §5, RFC 9051 §6.3.10): "Other Users/OWNER/MAILBOX" for each
// mailbox of OWNER that an active access grant of the logged-in user names. Only EXAMINE-like reads;
// anything that would change the owner's mailbox answers NO [NOPERM].
public sealed partial class ImapSession
{
    internal const string OtherUsers = "Other Users";

    private readonly List<GrantedAccess> _granted = [];

    /// <summary>The access of the selected mailbox: a grant's when it is another account's, else the user's own.</summary>
    private MailAccess SelMail => _selected?.Granted?.Access ?? _mail!;

    private KeywordNames SelKeywords => _selected?.Granted?.Keywords ?? _keywords!;

    private async Task OpenGrantsAsync(CancellationToken ct)
    {
        if (_context.AccessGrants is null)
        {
            return;
        }

        foreach (var grant in await _context.AccessGrants.OpenForAsync(_actor!, _keys!, ct))
        {
            var access = await _context.MailService.OpenGrantedAsync(_actor!, _keys!, grant, ct);
            var keywords = new KeywordNames(access, grant.OwnerKeys);
            await keywords.LoadAsync(ct);
            _granted.Add(new GrantedAccess(grant.OwnerAddress, access, keywords, grant.OwnerKeys));
        }
    }

    private void CloseGrants()
    {
        foreach (var grant in _granted)
        {
            grant.OwnerKeys.Dispose();
        }

        _granted.Clear();
    }

    /// <summary>True for names in the other-users namespace (never one of the user's own mailboxes).</summary>
    private static bool IsOtherUsers(string name) =>
        name.Equals(OtherUsers, StringComparison.OrdinalIgnoreCase) || name.StartsWith(OtherUsers + MailboxService.Separator, StringComparison.OrdinalIgnoreCase);

    /// <summary>"Other Users/OWNER/PATH": the grant for OWNER and PATH inside it; null grant when the name is under the prefix but names no grant's mailbox.</summary>
    private (GrantedAccess? Grant, string Path) RouteGranted(string name)
    {
        var rest = name.Length > OtherUsers.Length + 1 ? name[(OtherUsers.Length + 1)..] : "";
        var cut = rest.IndexOf(MailboxService.Separator);
        if (cut <= 0 || cut == rest.Length - 1)
        {
            return (null, "");
        }

        var owner = rest[..cut];
        return (_granted.FirstOrDefault(g => g.Owner.Equals(owner, StringComparison.OrdinalIgnoreCase)), rest[(cut + 1)..]);
    }

    /// <summary>A granted mailbox by its full name; NONEXISTENT when no grant of this session names it.</summary>
    private async Task<(GrantedAccess Grant, Mailbox Mailbox)> RequireGrantedAsync(string name, CancellationToken ct)
    {
        var (grant, path) = RouteGranted(name);
        if (grant is null)
        {
            throw No("No such mailbox", ResponseCode.NonExistent);
        }

        await grant.Access.CheckGrantAsync(ct);
        var mailbox = await grant.Access.FindAsync(path, ct) ?? throw No("No such mailbox", ResponseCode.NonExistent);
        return (grant, mailbox);
    }

    /// <summary>The LIST lines of the granted mailboxes that match (with the namespace's own levels as \Noselect).</summary>
    private static readonly string[] NoselectParent = ["\\Noselect", "\\HasChildren"];

    private async Task<List<(string Path, string[] Attributes, GrantedAccess Grant, Mailbox? Mailbox)>> GrantedListAsync(CancellationToken ct)
    {
        var lines = new List<(string, string[], GrantedAccess, Mailbox?)>();
        foreach (var grant in _granted)
        {
            try
            {
                await grant.Access.CheckGrantAsync(ct);
            }
            catch (Sealpost.Core.SealpostException)
            {
                continue; // ended since login: its mailboxes are gone from the list
            }

            var prefix = OtherUsers + MailboxService.Separator + grant.Owner;
            lines.Add((prefix, NoselectParent, grant, null));
            var all = await grant.Access.ListAsync(ct);
            foreach (var (path, mailbox) in all)
            {
                string[] children = [all.Any(o => o.Mailbox.ParentId == mailbox.Id) ? "\\HasChildren" : "\\HasNoChildren"];
                lines.Add((prefix + MailboxService.Separator + path, children, grant, mailbox));
            }
        }

        if (lines.Count > 0)
        {
            lines.Insert(0, (OtherUsers, NoselectParent, lines[0].Item3, null));
        }

        return lines;
    }
}
