using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;

namespace Sealpost.Domain;

/// <summary>Folder operations in terms of names; the store only ever sees sealed names and lookup keys.</summary>
public sealed class MailboxService(IMailStore store)
{
    /// <summary>The special folders every account has (RFC 6154 roles), with their default names.</summary>
    public static readonly IReadOnlyList<(MailboxRole Role, string Name)> SpecialMailboxes =
    [
        (MailboxRole.Inbox, "INBOX"),
        (MailboxRole.Sent, "Sent"),
        (MailboxRole.Drafts, "Drafts"),
        (MailboxRole.Trash, "Trash"),
        (MailboxRole.Junk, "Junk"),
        (MailboxRole.Archive, "Archive"),
    ];

    /// <summary>Hierarchy separator of mailbox names.</summary>
    public const char Separator = '/';

    public async Task EnsureSpecialMailboxesAsync(long accountId, INameProtector names, CancellationToken ct = default)
    {
        foreach (var (role, name) in SpecialMailboxes)
        {
            if (await store.FindMailboxByRoleAsync(accountId, role, ct) is null)
            {
                await store.CreateMailboxAsync(accountId, 0, names.LookupKey(accountId, name), names.SealFolder(accountId, name), role, ct);
            }
        }
    }

    /// <summary>
    /// After a reset the special folders' names are sealed under a key the owner no longer holds:
    /// give them their default names under the new key (found by role, so this works offline).
    /// </summary>
    public async Task ResealSpecialMailboxesAsync(long accountId, INameProtector names, CancellationToken ct = default)
    {
        foreach (var (role, name) in SpecialMailboxes)
        {
            var mailbox = await store.FindMailboxByRoleAsync(accountId, role, ct);
            if (mailbox is not null && names.Unseal(accountId, mailbox.SealedName) is null)
            {
                // The old name goes along inside the new one: the folder key it holds opens the folder's
                // older messages once recovery hands the old account key back.
                await store.RenameMailboxAsync(mailbox.Id, mailbox.ParentId, names.LookupKey(accountId, name), names.SealFolder(accountId, name, keepKeyOf: mailbox.SealedName), ct);
            }
        }
    }

    /// <summary>Creates a mailbox and any missing parents (RFC 9051 §6.3.4).</summary>
    public async Task<Mailbox> CreateAsync(long accountId, INameProtector names, string path, MailboxRole role = MailboxRole.None, CancellationToken ct = default)
    {
        var parts = SplitPath(path);
        long parent = 0;
        Mailbox? current = null;
        for (var i = 0; i < parts.Count; i++)
        {
            var key = names.LookupKey(accountId, parts[i]);
            current = await store.FindMailboxAsync(accountId, parent, key, ct);
            if (current is null)
            {
                current = await store.CreateMailboxAsync(accountId, parent, key, names.SealFolder(accountId, parts[i]), i == parts.Count - 1 ? role : MailboxRole.None, ct);
            }
            else if (i == parts.Count - 1)
            {
                throw SealpostException.Conflict("mailbox already exists");
            }

            parent = current.Id;
        }

        return current!;
    }

    public async Task<Mailbox?> FindAsync(long accountId, INameProtector names, string path, CancellationToken ct = default)
    {
        long parent = 0;
        Mailbox? current = null;
        foreach (var part in SplitPath(path))
        {
            current = await store.FindMailboxAsync(accountId, parent, names.LookupKey(accountId, part), ct);
            if (current is null)
            {
                return null;
            }

            parent = current.Id;
        }

        return current;
    }

    /// <summary>Every mailbox of an account with its full path.</summary>
    public async Task<IReadOnlyList<(string Path, Mailbox Mailbox)>> ListAsync(long accountId, INameProtector names, CancellationToken ct = default)
    {
        var all = await store.ListMailboxesAsync(accountId, ct);
        var byId = all.ToDictionary(m => m.Id);
        var result = new List<(string, Mailbox)>(all.Count);
        foreach (var mailbox in all)
        {
            var segments = new List<string>();
            for (var m = mailbox; m is not null; m = m.ParentId != 0 && byId.TryGetValue(m.ParentId, out var p) ? p : null)
            {
                // A name sealed under a key this session lacks (after a reset) shows as a placeholder.
                segments.Add(names.Unseal(accountId, m.SealedName) ?? $"#sealed-{m.Id}");
            }

            segments.Reverse();
            result.Add((string.Join(Separator, segments), mailbox));
        }

        return result.OrderBy(r => r.Item1, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Renames a mailbox and with it every mailbox below it (RFC 9051 §6.3.6); missing parents of the
    /// new name are created. UIDVALIDITY is kept. Renaming INBOX is the caller's special case.
    /// </summary>
    public async Task RenameAsync(long accountId, INameProtector names, string from, string to, CancellationToken ct = default)
    {
        var source = await FindAsync(accountId, names, from, ct) ?? throw SealpostException.NotFound("mailbox does not exist");
        if (await FindAsync(accountId, names, to, ct) is not null)
        {
            throw SealpostException.Conflict("a mailbox with the new name exists");
        }

        var parts = SplitPath(to);
        long parent = 0;
        for (var i = 0; i < parts.Count - 1; i++)
        {
            var key = names.LookupKey(accountId, parts[i]);
            var level = await store.FindMailboxAsync(accountId, parent, key, ct)
                ?? await store.CreateMailboxAsync(accountId, parent, key, names.SealFolder(accountId, parts[i]), MailboxRole.None, ct);
            if (level.Id == source.Id)
            {
                throw SealpostException.Invalid("a mailbox cannot be moved below itself");
            }

            parent = level.Id;
        }

        // A parent chain that passes through the source would make a cycle.
        for (var id = parent; id != 0;)
        {
            if (id == source.Id)
            {
                throw SealpostException.Invalid("a mailbox cannot be moved below itself");
            }

            id = (await store.GetMailboxAsync(id, ct))?.ParentId ?? 0;
        }

        await store.RenameMailboxAsync(source.Id, parent, names.LookupKey(accountId, parts[^1]), names.SealFolder(accountId, parts[^1], source.SealedName), ct);
    }

    /// <summary>Deletes a mailbox that has no children (RFC 9051 §6.3.5 lets a server refuse with HASCHILDREN). INBOX cannot be deleted.</summary>
    public async Task DeleteAsync(long accountId, INameProtector names, string path, CancellationToken ct = default)
    {
        var mailbox = await FindAsync(accountId, names, path, ct) ?? throw SealpostException.NotFound("mailbox does not exist");
        if (mailbox.Role == MailboxRole.Inbox)
        {
            throw SealpostException.Invalid("INBOX cannot be deleted");
        }

        if ((await store.ListMailboxesAsync(accountId, ct)).Any(m => m.ParentId == mailbox.Id))
        {
            throw SealpostException.Conflict("the mailbox has children; delete them first");
        }

        await store.DeleteMailboxAsync(mailbox.Id, ct);
    }

    /// <summary>The path as the service would store it (INBOX case-folded at the top level), or an <see cref="ErrorKind.Invalid"/> error.</summary>
    public static string Normalise(string path) => string.Join(Separator, SplitPath(path));

    private static List<string> SplitPath(string path)
    {
        var parts = path.Split(Separator).ToList();
        if (parts.Count == 0 || parts.Any(p => p.Length == 0))
        {
            throw SealpostException.Invalid("mailbox name has an empty level");
        }

        if (parts.Any(p => p.Any(char.IsControl)))
        {
            throw SealpostException.Invalid("mailbox name contains a control character");
        }

        // INBOX is case-insensitive at the top level (RFC 9051 §5.1).
        if (parts[0].Equals("INBOX", StringComparison.OrdinalIgnoreCase))
        {
            parts[0] = "INBOX";
        }

        return parts;
    }
}
