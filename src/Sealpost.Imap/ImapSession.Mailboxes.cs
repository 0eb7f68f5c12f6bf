using System.Text;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Domain;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// Mailbox names in and out: modified UTF-7 unless UTF8=ACCEPT is enabled (RFC 3501 §5.1.3, RFC 6855 §3).
public sealed partial class ImapSession
{
    private long AccountId => _account!.Id;

    private Core.Security.INameProtector Names => _keys!.Names;

    /// <summary>
    /// A mailbox argument decoded. Liberal in what it looks up: a name that is not valid modified UTF-7 (or
    /// UTF-8) cannot name an existing mailbox, so it answers NO [NONEXISTENT], not BAD; a new name
    /// (CREATE, RENAME's target) answers NO [CANNOT].
    /// </summary>
    private string MailboxName(MailboxArgument argument, bool newName = false)
    {
        try
        {
            return DecodeMailbox(argument.Octets);
        }
        catch (ImapParseException ex)
        {
            throw newName ? No(ex.Message, ResponseCode.Cannot) : No("No such mailbox", ResponseCode.NonExistent);
        }
    }

    private string DecodeMailbox(byte[] bytes, bool trimSeparator = true)
    {
        string name;
        if (_utf8)
        {
            try
            {
                name = new UTF8Encoding(false, true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new ImapParseException("Mailbox name is not UTF-8");
            }
        }
        else if (!ModifiedUtf7.TryDecode(Encoding.ASCII.GetString(bytes), out name) || bytes.Any(b => b >= 0x80))
        {
            throw new ImapParseException("Mailbox name is not valid modified UTF-7");
        }

        // A trailing separator only says the client means to create children (RFC 9051 §6.3.4).
        return trimSeparator && name.Length > 1 ? name.TrimEnd(MailboxService.Separator) : name;
    }

    private string MailboxOut(string name) => ImapText.Mailbox(name, _utf8);

    /// <summary>Other people's mailboxes are read only by EXAMINE/SELECT, STATUS and LIST: anything else naming them is NOPERM.</summary>
    private void RefuseOtherUsers(string name)
    {
        if (IsOtherUsers(name))
        {
            throw No($"\"{OtherUsers}/\" holds other people's mailboxes, read-only under an access grant", ResponseCode.NoPerm);
        }
    }

    private async Task<Mailbox> RequireMailboxAsync(string name, CancellationToken ct, bool tryCreate = false)
    {
        RefuseOtherUsers(name);
        Mailbox? mailbox;
        try
        {
            mailbox = await _mail!.FindAsync(name, ct);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.InvalidInput)
        {
            mailbox = null;
        }

        return mailbox ?? throw No("No such mailbox", tryCreate ? ResponseCode.TryCreate : ResponseCode.NonExistent);
    }

    /// <summary>RFC 8474 MAILBOXID: the mailbox row's id, which survives RENAME and is never reused.</summary>
    private static string MailboxId(Mailbox mailbox) => "F" + mailbox.Id.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    private static string? SpecialUse(MailboxRole role) => role switch
    {
        MailboxRole.Sent => "\\Sent",
        MailboxRole.Drafts => "\\Drafts",
        MailboxRole.Trash => "\\Trash",
        MailboxRole.Junk => "\\Junk",
        MailboxRole.Archive => "\\Archive",
        _ => null,
    };

    private static MailboxRole? RoleOf(string specialUse) => specialUse.ToUpperInvariant() switch
    {
        "\\SENT" => MailboxRole.Sent,
        "\\DRAFTS" => MailboxRole.Drafts,
        "\\TRASH" => MailboxRole.Trash,
        "\\JUNK" => MailboxRole.Junk,
        "\\ARCHIVE" => MailboxRole.Archive,
        _ => null,
    };
}
