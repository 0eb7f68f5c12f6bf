using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>Real IMAP clients from outside .NET: Python's imaplib, curl, mbsync (isync) and mutt.</summary>
public sealed class ImapClientToolTests : ImapTestBase
{
    [Fact]
    public async Task Python_imaplib_over_tls()
    {
        await DeliverAsync(Message("for python", "python body"));
        var script = $$"""
            import imaplib, ssl
            ctx = ssl.create_default_context(cafile={{Py(Server.DevCertificateFile)}})
            ctx.check_hostname = False
            m = imaplib.IMAP4_SSL('127.0.0.1', {{Tls.Port}}, ssl_context=ctx)
            m.login('{{Alice}}', '{{AlicePassword}}')
            typ, data = m.select('INBOX')
            print('exists', data[0].decode())
            typ, data = m.search(None, 'SUBJECT', '"for python"')
            print('search', data[0].decode())
            typ, data = m.fetch('1', '(BODY.PEEK[TEXT])')
            print('text', data[0][1].decode().strip())
            m.create('FromPython')
            m.append('FromPython', '(\\Seen)', None, b'Subject: appended\r\n\r\nx\r\n')
            typ, data = m.status('FromPython', '(MESSAGES)')
            print('status', data[0].decode())
            m.logout()
            """;
        var (exit, output) = await Tools.RunAsync("python3", ["-c", script]);
        Assert.True(exit == 0, output);
        Assert.Contains("exists 1", output);
        Assert.Contains("search 1", output);
        Assert.Contains("text python body", output);
        Assert.Contains("status FromPython (MESSAGES 1)", output);
    }

    [Fact]
    public async Task Curl_lists_and_fetches()
    {
        await DeliverAsync(Message("for curl", "curl body"));
        var url = $"imaps://127.0.0.1:{Tls.Port}/";
        var common = new[] { "--silent", "--show-error", "--max-time", "10", "--cacert", Server.DevCertificateFile, "--user", $"{Alice}:{AlicePassword}" };
        var (exit, list) = await Tools.RunAsync("curl", [.. common, url]);
        Assert.True(exit == 0, list);
        Assert.Contains("\"/\" INBOX", list);
        Assert.Contains("\"/\" Sent", list);
        (exit, var message) = await Tools.RunAsync("curl", [.. common, url + "INBOX;UID=1"]);
        Assert.True(exit == 0, message);
        Assert.Contains("Subject: for curl", message);
        Assert.Contains("curl body", message);
    }

    [Fact]
    public async Task Mbsync_syncs_a_thousand_messages_down_and_changes_back_up()
    {
        for (var i = 1; i <= 1000; i++)
        {
            await DeliverAsync(Message($"bulk {i:0000}", $"message number {i}"));
        }

        using var folder = new TempFolder("mbsync");
        var maildir = folder.Sub("mail");
        Directory.CreateDirectory(maildir);
        var config = Path.Combine(folder.Path, "mbsyncrc");
        await File.WriteAllTextAsync(config, $"""
            IMAPAccount sealpost
            Host 127.0.0.1
            Port {Tls.Port}
            User {Alice}
            Pass {AlicePassword}
            SSLType IMAPS
            CertificateFile {Server.DevCertificateFile}

            IMAPStore remote
            Account sealpost

            MaildirStore local
            Path {maildir}/
            Inbox {maildir}/INBOX

            Channel sync
            Far :remote:
            Near :local:
            Patterns INBOX
            Create Both
            Expunge Both
            SyncState *
            Sync All
            """);
        var (exit, output) = await Tools.RunAsync("mbsync", ["-c", config, "-a"], timeout: TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, output);
        var files = Directory.GetFiles(Path.Combine(maildir, "INBOX"), "*", SearchOption.AllDirectories).Where(f => f.Contains("/cur/") || f.Contains("/new/")).ToList();
        Assert.Equal(1000, files.Count);
        var subjects = files.Select(f => File.ReadLines(f).First(l => l.StartsWith("Subject: ", StringComparison.Ordinal))).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => $"Subject: bulk {i:0000}"), subjects);

        // Local changes: mark ten seen, delete five; then sync them up.
        var ordered = files.Order().ToList();
        foreach (var f in ordered.Take(10))
        {
            var target = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(f))!, "cur", Path.GetFileName(f).Split(":2,")[0] + ":2,S");
            File.Move(f, target);
        }

        foreach (var f in ordered.Skip(10).Take(5))
        {
            File.Delete(f);
        }

        (exit, output) = await Tools.RunAsync("mbsync", ["-c", config, "-a"], timeout: TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, output);
        var r = Server.Server.Runtime;
        var account = (await r.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse(Alice)))!;
        var inbox = (await r.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!;
        var messages = await r.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All);
        Assert.Equal(995, messages.Count);
        Assert.Equal(10, messages.Count(m => m.Flags.HasFlag(MessageFlags.Seen)));
    }

    [Fact]
    public async Task Mutt_reads_a_folder_non_interactively()
    {
        await DeliverAsync(Message("for mutt", "mutt body"));
        using var folder = new TempFolder("mutt");
        var rc = Path.Combine(folder.Path, "muttrc");
        var saved = Path.Combine(folder.Path, "saved.mbox");
        await File.WriteAllTextAsync(rc, $"""
            set imap_user = "{Alice}"
            set imap_pass = "{AlicePassword}"
            set certificate_file = "{folder.Path}/certs"
            set ssl_verify_host = no
            set folder = "imaps://127.0.0.1:{Tls.Port}/"
            set spoolfile = "+INBOX"
            set mbox_type = mbox
            set confirmcreate = no
            set confirmappend = no
            set delete = no
            set move = no
            set quit = yes
            set header_cache = ""
            set message_cachedir = ""
            """);
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "certs"), await File.ReadAllTextAsync(Server.DevCertificateFile));
        // mutt needs a terminal: util-linux `script` gives it one; the keys save message 1 to an mbox and quit.
        var command = $"TERM=vt100 mutt -n -F {rc} -e 'push \"<save-message>{saved}<enter><quit>\"'";
        var (exit, output) = await Tools.RunAsync("script", ["-qec", command, "/dev/null"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(File.Exists(saved), $"mutt exited {exit}: {output}");
        var text = await File.ReadAllTextAsync(saved);
        Assert.Contains("Subject: for mutt", text);
        Assert.Contains("mutt body", text);
    }

    private static string Py(string path) => "'" + path.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
