using System.Buffers;
using System.Net;
using System.Text;
using Sealpost.Core.Addressing;
using Sealpost.Connections;
using Sealpost.Domain.Sasl;
using Sealpost.Imap.Protocol;
using Sealpost.Mime;
using Sealpost.Mime.Dkim;
using Sealpost.Smtp;
using Sealpost.Smtp.Authentication;

namespace Sealpost.Fuzz;

/// <summary>A parser that reads what a peer sends, with valid inputs to start mutating from.</summary>
public sealed record FuzzTarget(string[] Seeds, Action<byte[]> Run)
{
    /// <summary>The seeds as octets: Latin-1 where that keeps them byte for byte, else UTF-8.</summary>
    public IReadOnlyList<byte[]> SeedBytes => Seeds.Select(s => s.Any(c => c > 0xFF) ? Encoding.UTF8.GetBytes(s) : Encoding.Latin1.GetBytes(s)).ToList();
}

/// <summary>
/// Every fuzz target: each input must end in a result or the parser's own refusal (a false, a
/// null, <see cref="ImapParseException"/>), never another exception, which on a live connection
/// would be an internal error.
/// </summary>
public static class FuzzTargets
{
    private static readonly DkimKey Ed25519 = DkimKey.Create("example.test", "s1", "ed25519", DateTimeOffset.UnixEpoch);

    public static readonly IReadOnlyDictionary<string, FuzzTarget> All = new Dictionary<string, FuzzTarget>
    {
        ["smtp-command"] = new(
            [
                "MAIL FROM:<alice@example.test> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159",
                "RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test",
                "MAIL FROM:<> AUTH=<>",
                "RCPT TO:<\"quoted local\"@[192.0.2.1]>",
                "RCPT TO:<@relay.example:bob@example.test>",
                "EHLO [IPv6:2001:db8::1]",
                "BDAT 1000 LAST",
                "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
                "MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8",
            ],
            bytes =>
            {
                var command = SmtpGrammar.Parse(bytes);
                if (command.Verb is SmtpVerb.Mail or SmtpVerb.Rcpt)
                {
                    SmtpGrammar.TryParsePath(command.Argument, command.Verb == SmtpVerb.Mail ? "FROM:" : "TO:", out _, out _);
                }
            }),
        ["smtp-line-framing"] = new(
            ["EHLO a\r\nMAIL FROM:<a@b>\r\n", "DATA\r\n.\r\n", "NOOP\n\r\nRSET\r\r\n"],
            bytes =>
            {
                var buffer = new ReadOnlySequence<byte>(bytes);
                var discarding = false;
                while (SmtpGrammar.TryTakeLine(ref buffer, 64, ref discarding, out _, out _))
                {
                }
            }),
        ["proxy-header"] = new(
            [
                "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n",
                "PROXY TCP6 2001:db8::1 2001:db8::2 56324 993\r\n",
                "PROXY UNKNOWN\r\n",
                Encoding.Latin1.GetString([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 192, 0, 2, 1, 198, 51, 100, 2, 0xDC, 0x04, 0x00, 0x19]),
            ],
            bytes => ProxyProtocol.TryParse(new ReadOnlySequence<byte>(bytes), out _, out _, out _)),
        ["spf-macros"] = new(
            ["%{ir}.%{v}._spf.%{d2}", "%{l1r-}.%{s}", "%{O}%%%_%-", "%{h}.%{i}.%{p}", "%{d}.%{L2R+.-}"],
            bytes => SpfMacros.TryExpand(Encoding.UTF8.GetString(bytes), new SpfMacroContext("strong-bad@email.example.com", "email.example.com", IPAddress.Parse("2001:db8::cb01"), "mx.example.org"), out _)),
        ["mime-analysis"] = new(
            [
                "From: A <a@example.test>\r\nTo: b@example.test\r\nSubject: =?UTF-8?B?w6Rw?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A4llo=\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--b--\r\n",
                "Subject: plain\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n",
                "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x\r\nContent-Type: application/octet-stream; name*=UTF-8''%C3%A4.bin\r\nContent-Disposition: attachment\r\n\r\n\0\x01\x02\r\n--x--",
            ],
            bytes =>
            {
                var metadata = new MessageAnalyzer(maxMimeDepth: 8).Analyze(bytes);
                BodyStructureFormatter.BodyStructure(metadata.Body);
                BodyStructureFormatter.Envelope(metadata.Envelope);
                MetadataCodec.Deserialize(MetadataCodec.Serialize(metadata));
            }),
        ["dkim-signing"] = new(
            ["From: a@example.test\r\nTo: b@example.test\r\nSubject: x\r\n\r\nbody\r\n", "From: a@example.test\r\n\r\n\u00e4 eight bit\r\n.\r\n"],
            bytes =>
            {
                try
                {
                    DkimMessageSigner.Sign(SevenBit.Downgrade(bytes), Ed25519);
                }
                catch (FormatException)
                {
                    // Its documented refusal: no header block to sign (delivery then sends unsigned).
                }
            }),
        ["quoted-printable"] = new(
            ["h=C3=A4llo=\r\nwelt  \r\n=3D=\r\n", "a=  \r\nb=\t\r\n=ZZ=4", "soft break=\nbare lf"],
            bytes => QuotedPrintable.Decode(bytes)),
        ["seven-bit-downgrade"] = new(
            ["From: a@example.test\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nh\u00e4llo\r\n"],
            bytes => SevenBit.Downgrade(bytes)),
        ["imap-command"] = new(
            [
                "a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BINARY[1] MODSEQ)",
                "a UID FETCH 1,3:5 (UID ENVELOPE BODYSTRUCTURE) (CHANGEDSINCE 5 VANISHED)",
                "a SEARCH RETURN (MIN MAX COUNT PARTIAL 1:10) CHARSET UTF-8 OR FROM \"x\" (SUBJECT y UNSEEN) NOT 1:5 SINCE 1-Feb-2024",
                "a STORE 1:2 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $Label)",
                "a SORT RETURN (ALL) (REVERSE DATE SUBJECT) UTF-8 ALL",
                "a THREAD REFERENCES UTF-8 SUBJECT x",
                "a SELECT INBOX (QRESYNC (1 2 1:9 (1:3 1:3)))",
                "a EXAMINE \"Sent Items\" (CONDSTORE)",
                "a APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello",
                "a APPEND Drafts UTF8 (~{3+}\r\nabc) {2+}\r\nhi",
                "a STATUS INBOX (MESSAGES UIDNEXT SIZE HIGHESTMODSEQ MAILBOXID)",
                "a CREATE Foo/&AOQ-bar (USE (\\Archive))",
                "a RENAME Foo Bar/Baz",
                "a COPY 1:* Archive",
                "a UID MOVE 4:* Trash",
                "a UID EXPUNGE 1:5",
                "a ENABLE CONDSTORE QRESYNC UTF8=ACCEPT",
                "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"*\" \"%\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))",
                "a LSUB \"\" Archive/%",
                "a LOGIN alice@example.test \"pass word\"",
                "a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==",
                "a GETQUOTA \"\"",
                "a NOTIFY SET STATUS (SELECTED (MessageNew (FLAGS) MessageExpunge)) (SUBTREE (INBOX Archive) (MessageNew MessageExpunge MailboxName))",
                "a ID (\"name\" \"x\" \"version\" NIL)",
            ],
            bytes => ImapCommandArguments(bytes)),
        ["imap-sequence-set"] = new(
            ["1:*", "1,3:5,7:4,*:9", "$", "4294967295", "1:2,2:3,*"],
            bytes => SequenceSet.TryParse(Encoding.UTF8.GetString(bytes), out _)),
        ["imap-mailbox-name"] = new(
            ["Foo/&AOQ-bar", "&-&AGEAYgBj-", "Entw&APw-rfe", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"],
            bytes => ModifiedUtf7.TryDecode(Encoding.UTF8.GetString(bytes), out _)),
        ["imap-date-time"] = new(
            [" 7-Feb-1994 21:52:25 -0800", "17-Jul-1996 02:44:25 -0700", "1-Jan-2000 00:00:00 +0000", "29-Feb-2024", "1-Jan-9999"],
            bytes =>
            {
                var text = Encoding.UTF8.GetString(bytes);
                ImapDates.TryParseDateTime(text, out _);
                ImapDates.TryParseDate(text.Trim(), out _);
            }),
        ["address"] = new(
            ["alice@example.test", "\"a b\"@example.test", "j\u00f6rg@b\u00fccher.example", "x@[192.0.2.1]", "postmaster"],
            bytes =>
            {
                var text = Encoding.UTF8.GetString(bytes);
                MailAddress.TryParse(text, out _, out _);
                DomainName.TryParse(text, out _, out _);
            }),
        ["sasl"] = new(
            ["AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=", "YWxpY2U=", "=", "*", "YWxpY2UAYWxpY2UAcGFzcw=="],
            bytes =>
            {
                var line = Encoding.UTF8.GetString(bytes);
                var plain = SaslExchange.Start("PLAIN")!;
                plain.Begin(line);
                var login = SaslExchange.Start("LOGIN")!;
                if (login.Begin(null) is SaslStep.Challenge && login.Continue(line) is SaslStep.Challenge)
                {
                    login.Continue(line);
                }
            }),
    };

    /// <summary>A tagged command line read by the same argument parser the session's command table uses for its name.</summary>
    private static void ImapCommandArguments(byte[] line)
    {
        var p = new ImapParser(line);
        p.ReadTag();
        p.Space();
        var name = p.ReadAtom().ToUpperInvariant();
        var uid = name == "UID";
        if (uid)
        {
            p.Space();
            name = p.ReadAtom().ToUpperInvariant();
        }

        var context = new ArgumentContext(Utf8: line.Length % 2 == 0, uid);
        object arguments = name switch
        {
            "FETCH" => FetchArguments.Parse(p, context),
            "SEARCH" => SearchParser.Parse(p),
            "STORE" => StoreArguments.Parse(p, context),
            "SORT" => SortArguments.Parse(p, context),
            "THREAD" => ThreadArguments.Parse(p, context),
            "SELECT" or "EXAMINE" => SelectArguments.Parse(p, context),
            "APPEND" => AppendArguments.Parse(p, context),
            "STATUS" => StatusArguments.Parse(p, context),
            "CREATE" => CreateArguments.Parse(p, context),
            "RENAME" => RenameArguments.Parse(p, context),
            "COPY" or "MOVE" => CopyArguments.Parse(p, context),
            "EXPUNGE" => ExpungeArguments.Parse(p, context),
            "ENABLE" => EnableArguments.Parse(p, context),
            "LIST" => ListArguments.Parse(p, context),
            "LSUB" => LsubArguments.Parse(p, context),
            "LOGIN" => LoginArguments.Parse(p, context),
            "AUTHENTICATE" => AuthenticateArguments.Parse(p, context),
            "GETQUOTA" => QuotaRootArguments.Parse(p, context),
            "ID" => IdArguments.Parse(p, context),
            "NOTIFY" => NotifyArguments.Parse(p, context),
            _ => CommandArguments.OneMailbox(p, context),
        };
        p.End();
        GC.KeepAlive(arguments);
    }

    /// <summary>Runs <paramref name="target"/> on one input; the parser's own refusal counts as an answer.</summary>
    public static void RunOne(string target, byte[] input)
    {
        try
        {
            All[target].Run(input);
        }
        catch (ImapParseException)
        {
        }
    }
}
