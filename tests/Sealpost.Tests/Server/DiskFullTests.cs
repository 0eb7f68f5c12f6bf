using System.Net;
using System.Net.Http.Json;
using Sealpost.Imap;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// Health that tells the truth: a data folder short of space makes the node unavailable with the cause
/// named (readiness fails, liveness does not), and on a real full file system (a small tmpfs) IMAP and
/// SMTP answer their temporary errors, the log names "disk full", and service resumes by itself once
/// space is back.
/// </summary>
public sealed class DiskFullTests
{
    private static HttpClient Http() => new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });

    [Theory]
    [InlineData("/health", HttpStatusCode.ServiceUnavailable)]
    [InlineData("/health/ready", HttpStatusCode.ServiceUnavailable)]
    [InlineData("/health/live", HttpStatusCode.OK)]
    public async Task Below_the_free_space_minimum_the_node_is_not_ready(string path, HttpStatusCode expected)
    {
        await using var server = await TestServer.StartAsync(o => o.Limits.MinFreeDiskMegabytes = 1L << 40);
        using var http = Http();
        using var response = await http.GetAsync(new Uri(server.Https, path));
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task The_health_report_names_the_cause()
    {
        await using var server = await TestServer.StartAsync(o => o.Limits.MinFreeDiskMegabytes = 1L << 40);
        using var http = Http();
        using var response = await http.GetAsync(new Uri(server.Https, "/health"));
        var report = (await response.Content.ReadFromJsonAsync<HealthReport>())!;
        Assert.Equal("degraded", report.Status);
        Assert.StartsWith("disk full", report.Cause);
        Assert.Contains("Health check failed: disk full", server.Logs.ToString());
    }

    [Fact]
    public async Task On_a_full_file_system_commands_fail_temporarily_and_service_resumes_when_space_returns()
    {
        Tools.Require("mount");
        using var scratch = new TempFolder("sealpost-diskfull");
        var mount = Path.Combine(scratch.Path, "fs");
        Directory.CreateDirectory(mount);
        var (mounted, output) = await Tools.RunAsync("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mount]);
        Assert.True(mounted == 0, "mounting a tmpfs needs root (CI runs as root): " + output);
        try
        {
            await using var server = await TestServer.StartAsync(o =>
            {
                o.DataDirectory = Path.Combine(mount, "data");
                o.Limits.MinFreeDiskMegabytes = 1;
            });
            await using var imap = await ImapRaw.ConnectAsync(server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls), tls: true);
            await imap.GreetingAsync();
            await imap.CommandAsync("a LOGIN alice@example.test alice-dev-password");

            var filler = Path.Combine(mount, "filler");
            Fill(filler);
            const string message = "Subject: no room\r\n\r\nthere is no room for this\r\n";
            var appended = await imap.CommandAsync($"b APPEND INBOX {{{message.Length}+}}\r\n{message}");
            Assert.Contains("b NO [UNAVAILABLE]", appended);
            Assert.Contains("answered NO [UNAVAILABLE]: disk full", server.Logs.ToString());
            using (var http = Http())
            {
                using var ready = await http.GetAsync(new Uri(server.Https, "/health/ready"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.StartsWith("disk full", (await ready.Content.ReadFromJsonAsync<HealthReport>())!.Cause);
            }

            await using (var smtp = await SmtpRaw.ConnectAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Inbound)))
            {
                await smtp.ReplyAsync();
                await smtp.CommandAsync("EHLO client.example");
                await smtp.CommandAsync("MAIL FROM:<carol@remote.example>");
                await smtp.CommandAsync("RCPT TO:<alice@example.test>");
                await smtp.CommandAsync("DATA");
                Assert.StartsWith("451", await smtp.CommandAsync("Subject: no room either\r\n\r\nbody\r\n."));
                Assert.StartsWith("250", await smtp.CommandAsync("NOOP"));
            }

            File.Delete(filler);
            Assert.Contains("c OK", await imap.CommandAsync($"c APPEND INBOX {{{message.Length}+}}\r\n{message}"));
        }
        finally
        {
            await Tools.RunAsync("umount", ["-l", mount]);
        }
    }

    /// <summary>Writes until the file system says it is full (ENOSPC).</summary>
    private static void Fill(string path)
    {
        var block = new byte[64 * 1024];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true)
            {
                file.Write(block);
            }
        }
        catch (IOException)
        {
        }

        try
        {
            for (var i = 0; i < 64 * 1024; i++)
            {
                file.WriteByte(0);
            }
        }
        catch (IOException)
        {
        }
    }
}
