using System.Security.Cryptography;
using System.Text;
using Sealpost.Connections;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

public sealed class MessageBufferTests
{
    [Fact]
    public void Keeps_exactly_the_limit_then_notes_it_is_too_big()
    {
        using var buffer = new MessageBuffer(100_000, budget: null);
        var data = Enumerable.Range(0, 150_000).Select(i => (byte)i).ToArray();
        buffer.Write(data.AsSpan(0, 70_000));
        buffer.Write(data[70_000]);
        buffer.Write(data.AsSpan(70_001, 29_999));
        Assert.False(buffer.TooBig);
        Assert.Equal(data[..100_000], buffer.ToArray());

        buffer.Write((byte)1);
        Assert.True(buffer.TooBig);
        Assert.Equal(100_000, buffer.Length);
    }

    [Fact]
    public void Takes_from_the_budget_per_segment_and_gives_it_all_back()
    {
        var budget = new MessageMemoryBudget(200_000);
        using (var buffer = new MessageBuffer(1_000_000, budget))
        {
            buffer.Write(new byte[10]);
            Assert.Equal(64 * 1024, budget.Used);
            buffer.Write(new byte[150_000]);
            Assert.Equal(3 * 64 * 1024, budget.Used);
            buffer.Write(new byte[100_000]); // a fourth segment does not fit
            Assert.True(buffer.OverBudget);
            Assert.False(buffer.TooBig);
            Assert.Equal(0, budget.Used); // it will be refused: what it held is free for the others at once
        }

        Assert.Equal(0, budget.Used);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(MessageBuffer.SegmentSize)]          // exactly the part kept in memory
    [InlineData(2 * MessageBuffer.SegmentSize)]      // the first segment past it, whole
    [InlineData(2 * MessageBuffer.SegmentSize + 1)]
    [InlineData(10 * MessageBuffer.SegmentSize)]     // ends on a segment boundary, on disk
    [InlineData(10 * MessageBuffer.SegmentSize + 12_345)]
    public void A_spilled_message_comes_back_octet_for_octet(int length)
    {
        using var folder = new TempFolder();
        var data = RandomNumberGenerator.GetBytes(length);
        using var buffer = new MessageBuffer(1_000_000, budget: null, spill: new SpillSettings(folder.Path, MessageBuffer.SegmentSize));
        for (var offset = 0; offset < length; offset += 7_000) // in pieces that do not line up with segments
        {
            buffer.Write(data.AsSpan(offset, Math.Min(7_000, length - offset)));
        }

        Assert.Equal(length > 2 * MessageBuffer.SegmentSize, buffer.Spilled);
        Assert.Equal(data, buffer.ToArray());
    }

    [Fact]
    public void The_spill_file_has_no_name_while_the_message_waits()
    {
        using var folder = new TempFolder();
        using var buffer = new MessageBuffer(10_000_000, budget: null, spill: new SpillSettings(folder.Path, 0));
        buffer.Write(RandomNumberGenerator.GetBytes(1_000_000));
        Assert.True(buffer.Spilled);
        Assert.Empty(Directory.GetFiles(folder.Path)); // nothing a backup, a crash or an operator would find
    }

    [Fact]
    public void A_spilled_message_still_takes_from_the_budget_and_gives_it_back()
    {
        using var folder = new TempFolder();
        var budget = new MessageMemoryBudget(10_000_000);
        using (var buffer = new MessageBuffer(10_000_000, budget, spill: new SpillSettings(folder.Path, 0)))
        {
            buffer.Write(new byte[1_000_000]);
            Assert.True(buffer.Spilled);
            Assert.Equal(16 * MessageBuffer.SegmentSize, budget.Used); // octets in flight, on disk or not
        }

        Assert.Equal(0, budget.Used);
    }
}

public sealed class MessageProcessingGateTests
{
    [Fact]
    public async Task Lets_in_what_fits_and_the_next_when_room_comes_back()
    {
        var gate = new MessageProcessingGate(capacity: 100 * MessageProcessingGate.Factor);
        var first = await gate.EnterAsync(60, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.NotNull(first);
        var second = gate.EnterAsync(60, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.False(second.IsCompleted); // 120 x the factor does not fit in 100 x it
        first!.Dispose();
        using var admitted = await second;
        Assert.NotNull(admitted);
        Assert.Equal(60 * MessageProcessingGate.Factor, gate.Used);
    }

    [Fact]
    public async Task One_message_is_always_let_in_however_large()
    {
        var gate = new MessageProcessingGate(capacity: 1000);
        using var admitted = await gate.EnterAsync(1_000_000, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.NotNull(admitted);
        Assert.Equal(1000, gate.Used); // its cost is capped at the capacity
    }

    [Fact]
    public async Task A_wait_that_ends_gives_null_and_takes_nothing()
    {
        var gate = new MessageProcessingGate(capacity: 1000);
        using var holder = await gate.EnterAsync(200, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Null(await gate.EnterAsync(200, TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(1000, gate.Used);
    }

    [Fact]
    public async Task Waiters_go_in_in_the_order_they_came()
    {
        var gate = new MessageProcessingGate(capacity: 100 * MessageProcessingGate.Factor);
        var first = await gate.EnterAsync(100, TimeSpan.FromMinutes(1), CancellationToken.None);
        var big = gate.EnterAsync(80, TimeSpan.FromMinutes(1), CancellationToken.None);
        var small = gate.EnterAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.False(small.IsCompleted); // it would fit only by jumping the queue, which it may not
        Assert.Equal(2, gate.Waiting);
        first!.Dispose();
        using var b = await big;
        using var s = await small;
        Assert.Equal(90 * MessageProcessingGate.Factor, gate.Used);
        Assert.Equal(0, gate.Waiting);
    }
}

/// <summary>Limits:MaxMessageMemoryBytes over real sessions: refusals are 452 4.3.1 and nothing leaks.</summary>
public sealed class MessageMemoryTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Limits.MaxMessageBytes = 200_000;
        o.Limits.MaxMessageMemoryBytes = 300_000;
        o.Limits.MaxMessageMemoryPerAddressBytes = 300_000; // every session here comes from 127.0.0.1
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<SmtpRaw> OpenAsync()
    {
        var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        return smtp;
    }

    private static string Body(int size) => "Subject: big\r\n\r\n" + string.Join("\r\n", Enumerable.Repeat(new string('x', 98), size / 100)) + "\r\n.";

    [Fact]
    public async Task An_announced_size_holds_nothing_until_data_arrives()
    {
        // Announcing reserves nothing: two sessions may each announce 200,000 of a 300,000 budget.
        await using var first = await OpenAsync();
        Assert.StartsWith("250", await first.CommandAsync("MAIL FROM:<a@remote.example> SIZE=200000"));
        await using var second = await OpenAsync();
        Assert.StartsWith("250", await second.CommandAsync("MAIL FROM:<b@remote.example> SIZE=200000"));

    }

    [Fact]
    public async Task Data_beyond_the_budget_is_refused_after_its_end_and_the_session_stays_usable()
    {
        // The first session's data, not yet ended, holds about 190,000 of the 300,000.
        await using var first = await OpenAsync();
        Assert.StartsWith("250", await first.CommandAsync("MAIL FROM:<a@remote.example>"));
        Assert.StartsWith("250", await first.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await first.CommandAsync("DATA"));
        var body = Body(190_000);
        await first.SendAsync(Encoding.ASCII.GetBytes(body[..^3]));

        // The second's 150,000 do not fit beside it: read to the end, then 452; the session goes on.
        await using var second = await OpenAsync();
        Assert.StartsWith("250", await second.CommandAsync("MAIL FROM:<b@remote.example>"));
        Assert.StartsWith("250", await second.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await second.CommandAsync("DATA"));
        Assert.StartsWith("452 4.3.1", await WhenHeldAsync(second, Body(150_000)));
        Assert.StartsWith("250", await second.CommandAsync("NOOP"));

        // A size that does not fit in what is free now is deferred at MAIL (RFC 1870 §6.2).
        await using var third = await OpenAsync();
        Assert.StartsWith("452 4.3.1", await third.CommandAsync("MAIL FROM:<c@remote.example> SIZE=150000"));

        // The first ends its message and it is stored; then the memory is free for the second.
        Assert.StartsWith("250", await first.CommandAsync(body[^3..].TrimEnd('.') + "."));
        Assert.StartsWith("250", await WhenShareIsFreeAsync(second, "MAIL FROM:<b@remote.example>"));
        Assert.StartsWith("250", await second.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await second.CommandAsync("DATA"));
        Assert.StartsWith("250", await second.CommandAsync(Body(150_000)));
    }

    /// <summary>Sends a message's data once the other session's data is held by the server (its budget use visible), and returns the reply.</summary>
    private async Task<string> WhenHeldAsync(SmtpRaw session, string data)
    {
        var memory = _server.Server.Runtime.MessageMemory;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (memory.Used < 150_000 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return await session.CommandAsync(data);
    }

    [Fact]
    public async Task Sessions_that_vanish_mid_transaction_give_their_share_back()
    {
        for (var i = 0; i < 3; i++)
        {
            var gone = await OpenAsync();
            // The previous round's sessions hung up; the server gives their shares back once it notices.
            Assert.StartsWith("250", await WhenShareIsFreeAsync(gone, "MAIL FROM:<a@remote.example>"));
            Assert.StartsWith("250", await gone.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("354", await gone.CommandAsync("DATA"));
            await gone.SendAsync(Encoding.ASCII.GetBytes("Subject: cut\r\n\r\n" + new string('y', 120_000))); // no end: then the peer is gone
            await gone.DisposeAsync();

            var bdat = await OpenAsync();
            Assert.StartsWith("250", await bdat.CommandAsync("MAIL FROM:<a@remote.example>"));
            Assert.StartsWith("250", await bdat.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("250", await bdat.CommandAsync("BDAT 150000\r\n" + new string('z', 150_000)[..^2]));
            await bdat.DisposeAsync();
        }

        // If any of those had kept its share, a 200,000 announcement would not fit now.
        await using var next = await OpenAsync();
        Assert.StartsWith("250", await WhenShareIsFreeAsync(next, "MAIL FROM:<c@remote.example> SIZE=200000"));
        Assert.Equal(0, _server.Server.Runtime.MessageMemory.Used);
    }

    /// <summary>Sends a MAIL command again while it is answered 452, for up to 10 s (the server noticing hang-ups).</summary>
    private static async Task<string> WhenShareIsFreeAsync(SmtpRaw session, string mail)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string reply;
        while ((reply = await session.CommandAsync(mail)).StartsWith("452", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return reply;
    }
}

/// <summary>
/// Limits:MaxMessageMemoryPerAddressBytes: the connections of one client address hold at most their
/// share of the memory budget, so one address cannot starve the others.
/// </summary>
public sealed class MessageMemoryPerAddressTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Limits.MaxMessageBytes = 200_000;
        o.Limits.MaxMessageMemoryBytes = 600_000;
        o.Limits.MaxMessageMemoryPerAddressBytes = 250_000;
        o.Smtp.InboundListen.Add("[::1]:0");
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<SmtpRaw> OpenAsync(System.Net.Sockets.AddressFamily family)
    {
        var endpoint = _server.Server.SmtpEndpoints.First(e => e.Kind == SmtpListenerKind.Inbound && e.EndPoint.AddressFamily == family).EndPoint;
        var smtp = await SmtpRaw.ConnectAsync(endpoint);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        return smtp;
    }

    /// <summary>A session from 127.0.0.1 in the middle of a 190,000-octet message: it holds three 64 KiB segments of its address's 250,000.</summary>
    private async Task<SmtpRaw> HoldAsync()
    {
        var first = await OpenAsync(System.Net.Sockets.AddressFamily.InterNetwork);
        Assert.StartsWith("250", await first.CommandAsync("MAIL FROM:<a@remote.example>"));
        Assert.StartsWith("250", await first.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await first.CommandAsync("DATA"));
        await first.SendAsync(Encoding.ASCII.GetBytes("Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 98) + "\r\n", 1900))));
        var memory = _server.Server.Runtime.MessageMemory;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (memory.HeldBy("127.0.0.1") < 150_000)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server never held the first session's data");
            await Task.Delay(20);
        }

        return first;
    }

    [Fact]
    public async Task A_second_session_from_the_same_address_is_deferred_beyond_its_share()
    {
        await using var first = await HoldAsync();
        await using var second = await OpenAsync(System.Net.Sockets.AddressFamily.InterNetwork);
        Assert.StartsWith("452 4.3.1", await second.CommandAsync("MAIL FROM:<b@remote.example> SIZE=100000"));
    }

    [Fact]
    public async Task Another_address_still_gets_memory_while_one_address_holds_its_share()
    {
        await using var first = await HoldAsync();
        await using var other = await OpenAsync(System.Net.Sockets.AddressFamily.InterNetworkV6);
        Assert.StartsWith("250", await other.CommandAsync("MAIL FROM:<b@remote.example> SIZE=150000"));
        Assert.StartsWith("250", await other.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await other.CommandAsync("DATA"));
        Assert.StartsWith("250", await other.CommandAsync("Subject: other\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('z', 98) + "\r\n", 1400)) + "."));
    }

    [Fact]
    public async Task Data_beyond_the_share_is_refused_after_its_end()
    {
        await using var first = await HoldAsync();
        await using var second = await OpenAsync(System.Net.Sockets.AddressFamily.InterNetwork);
        Assert.StartsWith("250", await second.CommandAsync("MAIL FROM:<b@remote.example>"));
        Assert.StartsWith("250", await second.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await second.CommandAsync("DATA"));
        Assert.StartsWith("452 4.3.1", await second.CommandAsync("Subject: more\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('w', 98) + "\r\n", 1000)) + "."));
        Assert.StartsWith("250", await second.CommandAsync("NOOP"));
    }

    [Theory]
    [InlineData(0, 200_000, 600_000, 200_000)]   // a quarter (150,000) is less than one message
    [InlineData(0, 100_000, 800_000, 200_000)]   // a quarter
    [InlineData(300_000, 200_000, 600_000, 300_000)] // set
    public void The_share_in_effect(long configured, long maxMessage, long memory, long expected)
    {
        var limits = new Sealpost.Core.Configuration.LimitOptions
        {
            MaxMessageBytes = maxMessage,
            MaxMessageMemoryBytes = memory,
            MaxMessageMemoryPerAddressBytes = configured,
        };
        Assert.Equal(expected, limits.MessageMemoryPerAddress);
    }
}
