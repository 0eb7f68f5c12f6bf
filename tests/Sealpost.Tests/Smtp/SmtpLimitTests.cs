using System.Text;
using Sealpost.Connections;
using Sealpost.Core.Security;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>Login throttling and connection limits: the protocol-independent parts and SMTP's use of them.</summary>
public sealed class SmtpLimitTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task Failures_per_address_and_per_account_lock_for_the_window_only()
    {
        var clock = new ManualClock();
        var failures = new InMemoryLoginFailures();
        var throttle = new LoginThrottle(failures, new byte[32], maxPerAddress: 3, maxPerAccount: 2, TimeSpan.FromMinutes(15), clock);
        Assert.Null(await throttle.RefusalAsync("10.0.0.1", "alice@example.test"));
        await throttle.FailedAsync("10.0.0.1", "alice@example.test");
        await throttle.FailedAsync("10.0.0.2", "ALICE@example.test");
        Assert.Contains("account", await throttle.RefusalAsync("10.0.0.9", "alice@example.test"));
        Assert.Null(await throttle.RefusalAsync("10.0.0.9", "bob@example.test"));
        await throttle.FailedAsync("10.0.0.1", "x@example.test");
        await throttle.FailedAsync("10.0.0.1", "y@example.test");
        Assert.Contains("address", await throttle.RefusalAsync("10.0.0.1", "bob@example.test"));
        var locked = await throttle.LockedAsync(["alice@example.test", "bob@example.test"]);
        Assert.Equal(2, locked.Count);
        Assert.Contains(new Lockout("account", "alice@example.test", 2, DateTimeOffset.UnixEpoch + TimeSpan.FromMinutes(15)), locked);
        Assert.Contains(locked, l => l is { Kind: "address", Subject: "10.0.0.1", Failures: 3 });
        // What a client typed as a user name is kept only as a keyed hash.
        Assert.DoesNotContain((await failures.ListLoginFailuresAsync(DateTimeOffset.MinValue)), f => f.Key.Contains("alice", StringComparison.Ordinal));

        await throttle.UnlockAccountAsync("Alice@Example.test");
        Assert.Null(await throttle.RefusalAsync("10.0.0.9", "alice@example.test"));

        clock.Now += TimeSpan.FromMinutes(16);
        Assert.Null(await throttle.RefusalAsync("10.0.0.1", "bob@example.test"));
        await throttle.FailedAsync("10.0.0.3", "carol@example.test");
        await throttle.SucceededAsync("carol@example.test", "10.0.0.3");
        Assert.Null(await throttle.RefusalAsync("10.0.0.4", "carol@example.test"));
        Assert.True(await throttle.PruneAsync() >= 6);
    }

    [Fact]
    public async Task Guessing_from_elsewhere_does_not_lock_the_owner_out_of_an_address_they_use()
    {
        var clock = new ManualClock();
        var failures = new InMemoryLoginFailures();
        var throttle = new LoginThrottle(failures, new byte[32], maxPerAddress: 100, maxPerAccount: 3, TimeSpan.FromMinutes(15), clock, TimeSpan.FromDays(30));
        await throttle.SucceededAsync("minister@example.test", "10.1.1.1"); // the owner's own device, last week
        clock.Now += TimeSpan.FromDays(7);
        foreach (var attacker in new[] { "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4" })
        {
            await throttle.FailedAsync(attacker, "minister@example.test");
        }

        Assert.Contains("account", await throttle.RefusalAsync("203.0.113.5", "minister@example.test"));
        Assert.Null(await throttle.RefusalAsync("10.1.1.1", "minister@example.test"));
        // The familiar address keeps a count of its own: guessing from it is stopped too.
        for (var i = 0; i < 3; i++)
        {
            await throttle.FailedAsync("10.1.1.1", "minister@example.test");
        }

        Assert.Contains("account", await throttle.RefusalAsync("10.1.1.1", "minister@example.test"));
        // Familiarity fades: after the familiar period an address is like any other.
        clock.Now += TimeSpan.FromDays(31);
        await throttle.PruneAsync();
        Assert.Empty(await failures.ListLoginFailuresAsync(DateTimeOffset.MinValue));
        Assert.Empty(await throttle.LockedAsync(["minister@example.test"]));
    }

    [Fact]
    public void Connections_are_limited_in_total_and_per_address_and_slots_come_back()
    {
        var gate = new ConnectionGate(maxTotal: 3, maxPerAddress: 2);
        var a1 = gate.TryEnter("a", out _);
        var a2 = gate.TryEnter("a", out _);
        Assert.NotNull(a1);
        Assert.NotNull(a2);
        Assert.Null(gate.TryEnter("a", out var perAddress));
        Assert.Contains("address", perAddress);
        var b1 = gate.TryEnter("b", out _);
        Assert.NotNull(b1);
        Assert.Null(gate.TryEnter("c", out var total));
        Assert.Equal("too many connections", total);
        a1!.Dispose();
        a1.Dispose(); // twice is once
        Assert.NotNull(gate.TryEnter("c", out _));
    }

    [Fact]
    public async Task Smtp_refuses_logins_unchecked_once_an_account_is_throttled_and_connections_past_the_limit()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.AllowPlaintextAuthOnLoopback = true;
            o.Limits.MaxAuthFailures = 10;
            o.Limits.MaxAuthFailuresPerAccount = 2;
            o.Limits.MaxConnectionsPerIp = 3;
        });
        var submission = server.Server.SmtpEndpoint(SmtpListenerKind.Submission);
        await using (var smtp = await SmtpRaw.ConnectAsync(submission))
        {
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO x.example");
            string Plain(string password) => "AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0" + password));
            Assert.StartsWith("535", await smtp.CommandAsync(Plain("wrong-1")));
            Assert.StartsWith("535", await smtp.CommandAsync(Plain("wrong-2")));
            // Locked now: even the right password gets a temporary refusal, without being checked.
            Assert.StartsWith("454 4.7.0", await smtp.CommandAsync(Plain("alice-dev-password")));
            // Leave properly: the server frees the connection slot before it closes the socket.
            Assert.StartsWith("221", await smtp.CommandAsync("QUIT"));
            Assert.True(await smtp.ClosedAsync());
        }

        Assert.Contains("[4006]", server.Logs.ToString());

        var open = new List<SmtpRaw>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var c = await SmtpRaw.ConnectAsync(submission);
                Assert.StartsWith("220", await c.ReplyAsync());
                open.Add(c);
            }

            await using var fourth = await SmtpRaw.ConnectAsync(submission);
            Assert.Equal("421 too many connections from your address", await fourth.ReplyAsync()); // no enhanced code before EHLO
            Assert.True(await fourth.ClosedAsync());
        }
        finally
        {
            foreach (var c in open)
            {
                await c.DisposeAsync();
            }
        }
    }
}
