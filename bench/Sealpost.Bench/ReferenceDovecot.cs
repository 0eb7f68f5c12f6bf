using System.Diagnostics;
using System.Net;

namespace Sealpost.Bench;

/// <summary>
/// A throw-away Dovecot (apt dovecot-imapd) on 127.0.0.1 for comparisons: its own config, runtime
/// and Maildir under a temp folder, running as nobody, user alice@example.test with the dev password,
/// started in the foreground and killed (with its children) on dispose.
/// </summary>
internal sealed class ReferenceDovecot(Process process, string folder, IPEndPoint endpoint) : ReferenceServer(process, folder, endpoint)
{
    /// <summary>Where Dovecot takes LMTP, when started with it.</summary>
    public IPEndPoint? LmtpEndpoint { get; private init; }

    /// <summary>Messages in a user's INBOX (Maildir new and cur): what LMTP has delivered.</summary>
    public int Delivered(string user) =>
        new[] { "new", "cur" }.Sum(sub => Directory.Exists(Path.Combine(Folder, "home", user, "Maildir", sub))
            ? Directory.EnumerateFiles(Path.Combine(Folder, "home", user, "Maildir", sub)).Count()
            : 0);

    /// <summary>The user names of a Dovecot started with <paramref name="users"/> users (alice alone for one).</summary>
    public static IReadOnlyList<string> UserNames(int users) =>
        users == 1 ? ["alice@example.test"] : Enumerable.Range(1, users).Select(i => $"user{i:D3}@example.test").ToList();

    /// <param name="cpu">Pins Dovecot to this CPU (taskset), so a load generator on another one does not compete.</param>
    /// <param name="lmtp">Also listen for LMTP on 127.0.0.1 (<see cref="LmtpEndpoint"/>): the delivery agent behind a Postfix.</param>
    /// <param name="argon2id">
    /// Passwords stored as Dovecot's own ARGON2ID hashes (its defaults, m=64 MiB, t=3, p=1: Sealpost's
    /// production parameters) instead of plaintext, so every login costs Dovecot the same key derivation.
    /// </param>
    public static async Task<ReferenceDovecot> StartAsync(int messages, bool highPerformance, int sessions, Func<int, string> message, int users = 1, int? cpu = null, bool lmtp = false,
        bool argon2id = false)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sealpost-bench-dovecot-" + Guid.NewGuid().ToString("N"));
        foreach (var user in UserNames(users))
        {
            var maildir = Path.Combine(folder, "home", user, "Maildir");
            foreach (var sub in new[] { "cur", "new", "tmp" })
            {
                Directory.CreateDirectory(Path.Combine(maildir, sub));
            }

            for (var i = 0; i < messages; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(maildir, "cur", $"{1_700_000_000 + i}.M{i}P1.bench:2,"), message(i));
            }
        }

        Directory.CreateDirectory(Path.Combine(folder, "run"));
        Directory.CreateDirectory(Path.Combine(folder, "state"));

        var port = ServeProcess.FreePort();
        var lmtpPort = lmtp ? ServeProcess.FreePort() : 0;
        var lmtpService = lmtp
            ? $"service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtpPort}\n  }}\n  process_limit = {Math.Max(20, sessions)}\n}}\npostmaster_address = postmaster@example.test\n"
            : "";
        // High-performance mode (Dovecot's own term): login processes serve many connections each.
        var login = highPerformance
            ? $"  service_count = 0\n  process_min_avail = {Environment.ProcessorCount}\n  client_limit = {Math.Max(1000, sessions * 2)}\n"
            : "";
        await File.WriteAllTextAsync(Path.Combine(folder, "dovecot.conf"), $$"""
            base_dir = {{folder}}/run
            state_dir = {{folder}}/state
            log_path = {{folder}}/dovecot.log
            protocols = imap{{(lmtp ? " lmtp" : "")}}
            listen = 127.0.0.1
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            default_internal_user = nobody
            default_internal_group = nogroup
            default_login_user = nobody
            first_valid_uid = 1
            mail_location = maildir:{{folder}}/home/%u/Maildir
            mail_max_userip_connections = {{sessions * 2 + 10}}
            passdb {
              driver = passwd-file
              args = scheme=PLAIN username_format=%u {{folder}}/passwd
            }
            userdb {
              driver = static
              args = uid=nobody gid=nogroup home={{folder}}/home/%u
            }
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = {{port}}
              }
              inet_listener imaps {
                port = 0
              }
              chroot =
            {{login}}}
            service anvil {
              chroot =
            }
            {{lmtpService}}
            """);
        var password = users == 1 ? "alice-dev-password" : "bench-password";
        var stored = argon2id ? await HashAsync(password) : "{PLAIN}" + password;
        await File.WriteAllTextAsync(Path.Combine(folder, "passwd"), string.Concat(UserNames(users).Select(u => $"{u}:{stored}\n")));
        Chown(Path.Combine(folder, "home"));
        string[] command = ["/usr/sbin/dovecot", "-F", "-c", Path.Combine(folder, "dovecot.conf")];
        if (cpu is { } core)
        {
            command = ["taskset", "-c", core.ToString(System.Globalization.CultureInfo.InvariantCulture), .. command];
        }

        var process = Process.Start(new ProcessStartInfo(command[0], command[1..])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        if (await ServeProcess.AcceptsAsync(endpoint))
        {
            return new ReferenceDovecot(process, folder, endpoint) { LmtpEndpoint = lmtp ? new IPEndPoint(IPAddress.Loopback, lmtpPort) : null };
        }

        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("dovecot did not start: " + await File.ReadAllTextAsync(Path.Combine(folder, "dovecot.log")));
    }

    /// <summary>The password as Dovecot's ARGON2ID scheme stores it (doveadm pw, its default parameters).</summary>
    private static async Task<string> HashAsync(string password)
    {
        using var doveadm = Process.Start(new ProcessStartInfo("/usr/bin/doveadm", ["pw", "-s", "ARGON2ID", "-p", password]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var hash = (await doveadm.StandardOutput.ReadToEndAsync()).Trim();
        await doveadm.WaitForExitAsync();
        return doveadm.ExitCode == 0 && hash.StartsWith("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$", StringComparison.Ordinal)
            ? hash
            : throw new InvalidOperationException("doveadm pw -s ARGON2ID did not give an Argon2id hash with m=65536, t=3: " + hash);
    }

    private static void Chown(string path)
    {
        using var chown = Process.Start("chown", ["-R", "nobody:nogroup", path]);
        chown.WaitForExit();
    }
}
