using Sealpost.Connections;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>The order of a saturated node: logged-in sessions' commands first, new logins after.</summary>
public sealed class LoginAdmissionTests
{
    private static LoginAdmission Gate(int busyLimit = 2, int maxWaitSeconds = 60) => new(busyLimit, TimeSpan.FromSeconds(maxWaitSeconds));

    [Fact]
    public async Task A_login_starts_at_once_while_fewer_commands_than_the_limit_run()
    {
        var gate = Gate();
        using var command = gate.Run();
        var login = gate.AdmitAsync(CancellationToken.None);
        Assert.True(login.IsCompleted);
        using var admitted = await login;
        Assert.Equal(2, gate.Running);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task A_login_waits_while_the_limit_runs_and_starts_when_a_command_ends()
    {
        var gate = Gate();
        var first = gate.Run();
        using var second = gate.Run();
        var login = gate.AdmitAsync(CancellationToken.None).AsTask();
        Assert.False(login.IsCompleted);
        Assert.Equal(1, gate.Waiting);
        first.Dispose();
        using var admitted = await login;
        Assert.Equal(2, gate.Running); // the command left, the login took its place
        Assert.Equal(0, gate.Waiting);
        Assert.Equal(1, gate.Queued);
    }

    [Fact]
    public void Commands_of_logged_in_sessions_never_wait()
    {
        var gate = Gate(busyLimit: 1);
        var commands = Enumerable.Range(0, 5).Select(_ => gate.Run()).ToList();
        Assert.Equal(5, gate.Running);
        commands.ForEach(c => c.Dispose());
        Assert.Equal(0, gate.Running);
    }

    [Fact]
    public async Task Waiting_logins_go_in_in_the_order_they_came()
    {
        var gate = Gate(busyLimit: 1);
        var command = gate.Run();
        var first = gate.AdmitAsync(CancellationToken.None).AsTask();
        var second = gate.AdmitAsync(CancellationToken.None).AsTask();
        command.Dispose();
        var admitted = await first;
        Assert.False(second.IsCompleted); // the first login now holds the one place
        admitted.Dispose();
        using var next = await second;
        Assert.Equal(1, gate.Running);
    }

    [Fact]
    public async Task A_login_that_waited_its_longest_starts_anyway()
    {
        var gate = new LoginAdmission(1, TimeSpan.FromMilliseconds(50));
        using var stuck = gate.Run(); // a command held up by a slow client, say
        using var admitted = await gate.AdmitAsync(CancellationToken.None);
        Assert.Equal(2, gate.Running);
        Assert.Equal(0, gate.Waiting);
        Assert.Equal(1, gate.Queued);
    }

    [Fact]
    public async Task A_cancelled_wait_takes_no_place()
    {
        var gate = Gate(busyLimit: 1);
        var command = gate.Run();
        using var cancel = new CancellationTokenSource();
        var login = gate.AdmitAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => login);
        Assert.Equal(0, gate.Waiting);
        command.Dispose();
        Assert.Equal(0, gate.Running);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Without_a_limit_logins_never_wait(int busyLimit)
    {
        var gate = Gate(busyLimit);
        var commands = Enumerable.Range(0, 10).Select(_ => gate.Run()).ToList();
        var login = gate.AdmitAsync(CancellationToken.None);
        Assert.True(login.IsCompleted);
        (await login).Dispose();
        commands.ForEach(c => c.Dispose());
        Assert.Equal(0, gate.Queued);
    }
}

/// <summary>Imap:LoginQueue* over real sessions: a login waits behind running commands, a logged-in session does not.</summary>
public sealed class LoginQueueImapTests : ImapTestBase
{
    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options)
    {
        options.Imap.LoginQueueBusyCommands = 1;
        options.Imap.LoginQueueMaxWaitSeconds = 300; // the test lets the login in, not the clock
    }

    private LoginAdmission Admission => Server.Server.ImapContext.Admission;

    private Task WaitingAsync(int count) => Waiting.UntilAsync(() => Admission.Waiting == count, $"{count} login(s) waiting");

    [Fact]
    public async Task A_login_waits_while_the_node_is_busy_and_is_answered_when_it_is_not()
    {
        var busy = Admission.Run(); // stands for a logged-in session's command that is still running
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        var login = raw.CommandAsync($"L1 LOGIN {Alice} {AlicePassword}");
        await WaitingAsync(1);
        Assert.False(login.IsCompleted);
        busy.Dispose();
        Assert.Contains("L1 OK", await login);
        Assert.Equal(0, Admission.Waiting);
    }

    [Fact]
    public async Task A_logged_in_session_is_served_while_logins_wait()
    {
        await using var session = await LoginAsync(Bob, BobPassword);
        var busy = Admission.Run();
        await using var waiting = await ImapRaw.ConnectAsync(Plain);
        await waiting.GreetingAsync();
        var login = waiting.CommandAsync($"L1 LOGIN {Alice} {AlicePassword}");
        await WaitingAsync(1);
        Assert.Contains("S1 OK", await session.CommandAsync("S1 SELECT INBOX"));
        Assert.Contains("N1 OK", await session.CommandAsync("N1 NOOP"));
        Assert.False(login.IsCompleted);
        busy.Dispose();
        Assert.Contains("L1 OK", await login);
    }

    [Fact]
    public async Task Commands_answered_leave_nothing_counted()
    {
        await using var session = await LoginAsync();
        Assert.Contains("S1 OK", await session.CommandAsync("S1 SELECT INBOX"));
        Assert.Contains("S2 NO", await session.CommandAsync("S2 SELECT \"No such folder\""));
        Assert.Contains("S3 BAD", await session.CommandAsync("S3 FETCH"));
        Assert.Contains("S4 OK", await session.CommandAsync("S4 NOOP"));
        Assert.Equal(0, Admission.Running);
    }
}
