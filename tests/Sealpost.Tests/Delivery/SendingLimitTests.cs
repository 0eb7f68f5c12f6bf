using Sealpost.Core.Audit;
using Sealpost.Core.Storage;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// A compromised account sending in bulk: past its hourly limit its mail to other organisations is
/// still accepted (nothing is lost) but queued held, logged and audited, until an operator releases it.
/// </summary>
public sealed class SendingLimitTests
{
    [Theory]
    [InlineData("messages")]
    [InlineData("recipients")]
    public async Task Mail_past_the_hourly_limit_is_held_for_an_operator(string limit)
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Delivery.Enabled = false;
            if (limit == "messages")
            {
                o.Delivery.MaxMessagesPerAccountPerHour = 2;
            }
            else
            {
                o.Delivery.MaxRecipientsPerAccountPerHour = 4;
            }
        });
        // Every one is accepted (250), two outside recipients each.
        await Submitter.SendAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Submission),
            Enumerable.Range(1, 3).Select(i => Submitter.Message($"bulk {i}", $"one{i}@partner.test", $"two{i}@partner.test")));

        var queue = await server.Server.Runtime.Store.Queue.ListAsync();
        Assert.Equal([QueueState.Ready, QueueState.Ready, QueueState.Held], queue.Select(q => q.State));
        var record = Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.QueueHeld, Limit: 10)));
        Assert.Equal((AuditOutcome.Refused, $"queue {queue[2].Id}"), (record.Event.Outcome, record.Event.Target));
        Assert.Contains("crossed its hourly sending limit", server.Logs.ToString());

        var cli = new CliRunner(server.Server.Runtime.Options.DataDirectory);
        await cli.OkAsync("queue", "release", queue[2].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(await server.Server.Runtime.Store.Queue.ListAsync(), q => Assert.Equal(QueueState.Ready, q.State));
    }
}
