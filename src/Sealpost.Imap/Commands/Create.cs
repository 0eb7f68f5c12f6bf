using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154 §3): missing parents are created;
// a special use already held by another mailbox is refused with USEATTR.
public sealed partial class ImapSession
{
    private async Task<After> CreateAsync(string tag, CreateArguments arguments, CancellationToken ct)
    {
        var name = MailboxName(arguments.Mailbox, newName: true);
        var role = MailboxRole.None;
        var uses = arguments.Uses;
        {
            if (uses.Count > 1)
            {
                throw No("One special use per mailbox", ResponseCode.UseAttr);
            }

            if (uses.Count == 1)
            {
                role = RoleOf(uses[0]) ?? throw No("Unknown special use", ResponseCode.UseAttr);
                if (await _mail!.FindByRoleAsync(role, ct) is not null)
                {
                    throw No("Another mailbox has that special use", ResponseCode.UseAttr);
                }
            }
        }

        if (name.Equals("INBOX", StringComparison.OrdinalIgnoreCase))
        {
            throw No("INBOX always exists", ResponseCode.AlreadyExists);
        }

        RefuseOtherUsers(name);
        var created = await _mail!.CreateAsync(name, role, ct);
        Ok(tag, "CREATE completed", ResponseCode.MailboxId(MailboxId(created)));
        return After.Next;
    }
}
