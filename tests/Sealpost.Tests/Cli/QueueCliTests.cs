using MimeKit;
using Sealpost.Core.Audit;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>
/// <c>sealpost queue</c> against a running server's data folder: operators see envelopes, states
/// and sizes, never a subject; hold, release, retry and delete are audited; bad ids are clean errors.
/// </summary>
public sealed class QueueCliTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private CliRunner _cli = null!;
    private long _id;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        _cli = new CliRunner(_server.Server.Runtime.Options.DataDirectory);
        var message = Submitter.Message("QueueCliSubjectMarker", "carol@partner.test");
        message.Body = new TextPart("plain") { Text = "QueueCliBodyMarker" };
        await Submitter.SendAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Submission), [message]);
        _id = Assert.Single(await _server.Server.Runtime.Store.Queue.ListAsync()).Id;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task List_shows_the_envelope_and_state_but_never_the_subject_or_body()
    {
        var output = (await _cli.OkAsync("queue", "list")).Out;
        Assert.Contains("<alice@example.test>", output);
        Assert.Contains("carol@partner.test (pending)", output);
        Assert.Contains("queued", output);
        Assert.Contains("1 message(s) queued.", output);
        Assert.DoesNotContain("QueueCliSubjectMarker", output);
        Assert.DoesNotContain("QueueCliBodyMarker", output);
    }

    [Fact]
    public async Task Show_lists_each_recipient()
    {
        var output = (await _cli.OkAsync("queue", "show", _id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Out;
        Assert.Contains("To:           carol@partner.test pending", output);
        Assert.DoesNotContain("QueueCliSubjectMarker", output);
    }

    [Theory]
    [InlineData("hold", "held", AuditAction.QueueHeld)]
    [InlineData("release", "queued", AuditAction.QueueReleased)]
    [InlineData("retry", "queued", AuditAction.QueueRetried)]
    public async Task State_changes_show_in_the_list_and_are_audited(string verb, string state, AuditAction action)
    {
        var id = _id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await _cli.OkAsync("queue", verb, id);
        Assert.Contains($"State:        {state}", (await _cli.OkAsync("queue", "show", id)).Out);
        var records = await _server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: action, Limit: 10));
        Assert.Equal($"queue {id}", Assert.Single(records).Event.Target);
    }

    [Fact]
    public async Task Delete_removes_the_message_and_a_second_delete_is_a_clean_error()
    {
        var id = _id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await _cli.OkAsync("queue", "delete", id);
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
        (await _cli.RunAsync("queue", "delete", id)).AssertCleanError(1, "no queued message");
    }

    [Theory]
    [InlineData("show", "abc")]
    [InlineData("hold", "-")]
    [InlineData("retry", "99999999999999999999999")]
    public async Task A_malformed_id_is_a_usage_error(string verb, string id) =>
        (await _cli.RunAsync("queue", verb, id)).AssertCleanError(2, "");
}
