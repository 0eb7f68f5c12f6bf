using System.Diagnostics;
using System.Net;

namespace Sealpost.Bench;

/// <summary>
/// A throw-away Postfix (apt postfix) on 127.0.0.1 that accepts mail for example.test and hands it to
/// a Dovecot over LMTP: the usual open-source pair a mail platform is measured against. Its own
/// configuration and queue under a temp folder, `postfix start-fg` (no chroot, logging to its
/// standard output), stopped on dispose. Postfix queues durably (fsync) before its 250; Dovecot's
/// LMTP writes the Maildir file before its 250 to Postfix.
/// </summary>
internal sealed class ReferencePostfix(Process process, string folder, IPEndPoint endpoint) : ReferenceServer(process, folder, endpoint)
{
    public static async Task<ReferencePostfix> StartAsync(IPEndPoint lmtp, int sessions)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sealpost-bench-postfix-" + Guid.NewGuid().ToString("N"));
        var conf = Path.Combine(folder, "conf");
        Directory.CreateDirectory(conf);
        Directory.CreateDirectory(Path.Combine(folder, "queue"));
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        var port = ServeProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(conf, "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {folder}/queue
            data_directory = {folder}/data
            mail_owner = postfix
            setgid_group = postdrop
            myhostname = reference.example
            mydestination =
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            virtual_mailbox_domains = example.test
            virtual_transport = lmtp:inet:{lmtp.Address}:{lmtp.Port}
            lmtp_destination_concurrency_limit = {Math.Max(20, sessions)}
            smtpd_reject_unlisted_recipient = no
            smtpd_client_connection_count_limit = 0
            default_process_limit = {Math.Max(100, sessions * 2)}
            alias_maps =
            alias_database =
            maillog_file = /dev/stdout
            smtputf8_enable = no
            biff = no
            """);
        // Every service unchrooted: the queue is a temp folder, not /var/spool/postfix.
        await File.WriteAllTextAsync(Path.Combine(conf, "master.cf"), $"""
            127.0.0.1:{port} inet n - n - - smtpd
            pickup unix n - n 60 1 pickup
            cleanup unix n - n - 0 cleanup
            qmgr unix n - n 300 1 qmgr
            rewrite unix - - n - - trivial-rewrite
            bounce unix - - n - 0 bounce
            defer unix - - n - 0 bounce
            trace unix - - n - 0 bounce
            verify unix - - n - 1 verify
            flush unix n - n 1000? 0 flush
            proxymap unix - - n - - proxymap
            smtp unix - - n - - smtp
            relay unix - - n - - smtp
            showq unix n - n - - showq
            error unix - - n - - error
            retry unix - - n - - error
            discard unix - - n - - discard
            lmtp unix - - n - - lmtp
            anvil unix - - n - 1 anvil
            scache unix - - n - 1 scache
            postlog unix-dgram n - n - 1 postlogd

            """);
        using (var chown = Process.Start("chown", ["postfix", Path.Combine(folder, "data")]))
        {
            await chown.WaitForExitAsync();
        }

        var process = Process.Start(new ProcessStartInfo("/usr/sbin/postfix", ["-c", conf, "start-fg"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        if (await ServeProcess.AcceptsAsync(endpoint))
        {
            return new ReferencePostfix(process, folder, endpoint);
        }

        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("postfix did not start");
    }

    public override async ValueTask DisposeAsync()
    {
        using (var stop = Process.Start("/usr/sbin/postfix", ["-c", Path.Combine(Folder, "conf"), "stop"]))
        {
            await stop.WaitForExitAsync();
        }

        await base.DisposeAsync();
    }
}
