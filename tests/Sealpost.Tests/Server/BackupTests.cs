using System.Net;
using System.Text.Json;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// sealpost backup of a running server (embedded store) and sealpost restore into a new folder: the
/// restored server reads the mail delivered before, the backup holds no plaintext, and a damaged or
/// incomplete backup is refused without leaving a folder behind.
/// </summary>
public sealed class BackupTests : IAsyncLifetime
{
    private const string Marker = "BackupMarkerSubjectZq4";
    private const string Password = "operator-password-long-enough";
    private TestServer _server = null!;
    private readonly TempFolder _elsewhere = new("sealpost-restore");

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await using var submit = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await submit.ReplyAsync();
        await submit.CommandAsync("EHLO client.example");
        await submit.CommandAsync("MAIL FROM:<carol@remote.example>");
        await submit.CommandAsync("RCPT TO:<alice@example.test>");
        await submit.CommandAsync("DATA");
        Assert.StartsWith("250", await submit.CommandAsync($"From: carol@remote.example\r\nTo: alice@example.test\r\nSubject: {Marker}\r\n\r\nbody {Marker}\r\n."));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _elsewhere.Dispose();
    }

    private async Task<string> BackupAsOperatorAsync()
    {
        using var api = new ApiClient(_server);
        var (token, _, _) = await api.AdministratorAsync("op@example.test", Password, Role.Operator);
        var made = await api.JsonAsync(HttpMethod.Post, "/api/v1/backups", token: token, expected: HttpStatusCode.Created);
        Assert.True(made.GetProperty("files").GetInt32() > 3);
        return made.GetProperty("path").GetString()!;
    }

    [Fact]
    public async Task A_restored_backup_serves_the_mail_delivered_before_it()
    {
        var backup = await BackupAsOperatorAsync();
        var restored = Path.Combine(_elsewhere.Path, "data");
        var result = await new CliRunner(restored).RunAsync("restore", backup);
        Assert.True(result.ExitCode == 0, result.Err);

        var options = TestOptions.For(restored);
        options.Vault.MasterKeyFile = _server.Server.Runtime.Options.Vault.MasterKeyFile; // kept outside the data folder, so outside the backup
        await DevEnvironment.PrepareAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance); // the restored folder's own certificate
        await using var server = await SealpostServer.StartAsync(new ServerStartOptions(options, Dev: true));
        await using var imap = await ImapRaw.ConnectAsync(server.ImapEndpoint(ImapListenerKind.ImplicitTls), tls: true);
        await imap.GreetingAsync();
        await imap.CommandAsync("a LOGIN alice@example.test alice-dev-password");
        await imap.CommandAsync("b SELECT INBOX");
        Assert.Contains(Marker, await imap.CommandAsync("c FETCH 1:* (ENVELOPE)"));
        // The restored trail records the restore, and still verifies.
        var restoredRecord = Assert.Single(await server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.BackupRestored)));
        Assert.Contains(Path.GetFileName(backup), restoredRecord.Event.Detail);
        var verified = await Sealpost.Domain.Audit.AuditVerifier.VerifyAsync(server.Runtime.Audit.Store, server.Runtime.Audit.PublicKey, []);
        Assert.True(verified.Ok, verified.Message);
    }

    [Fact]
    public async Task A_restored_backup_opens_nothing_under_another_master_key()
    {
        var backup = await BackupAsOperatorAsync();
        var restored = Path.Combine(_elsewhere.Path, "data");
        Assert.Equal(0, (await new CliRunner(restored).RunAsync("restore", backup)).ExitCode);
        var options = TestOptions.For(restored);
        options.Vault.MasterKeyFile = Path.Combine(_elsewhere.Path, "another.master.key");
        Sealpost.Crypto.Vault.KeyFiles.LoadOrCreateMasterKey(options.Vault.MasterKeyFile, create: true);
        await DevEnvironment.PrepareAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var refused = await Assert.ThrowsAsync<Sealpost.Core.SealpostException>(async () => await SealpostServer.StartAsync(new ServerStartOptions(options, Dev: true)));
        Assert.Contains("does not open with this master key", refused.Message);
    }

    [Fact]
    public async Task A_backup_holds_no_subject_or_body_in_clear()
    {
        var backup = await BackupAsOperatorAsync();
        Assert.Empty(new MarkerScanner([Marker]).ScanTree(backup));
    }

    [Fact]
    public async Task A_backup_is_in_the_audit_trail_with_who_made_it()
    {
        await BackupAsOperatorAsync();
        var records = await _server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.BackupCreated));
        var record = Assert.Single(records);
        Assert.Equal("op@example.test", record.Event.Actor);
        Assert.Equal(AuditOutcome.Success, record.Event.Outcome);
    }

    [Fact]
    public async Task The_cli_backs_up_the_data_folder_of_a_running_server()
    {
        var result = await new CliRunner(_server.Server.Runtime.Options.DataDirectory).RunAsync("backup");
        Assert.True(result.ExitCode == 0, result.Err);
        var path = result.Out.Trim().Split(" in ")[^1].TrimEnd('.');
        Assert.True(File.Exists(Path.Combine(path, "sealpost.db")), result.Out);
    }

    [Fact]
    public async Task A_backup_folder_inside_the_data_folder_is_not_copied_into_the_next_backup()
    {
        await using var server = await TestServer.StartAsync(o => o.BackupDirectory = Path.Combine(o.DataDirectory, "backups"));
        var backups = server.Server.Runtime.Backups;
        await backups.CreateAsync(SealpostRuntime.LocalAdministrator, CancellationToken.None);
        var second = await backups.CreateAsync(SealpostRuntime.LocalAdministrator, CancellationToken.None);
        Assert.Empty(Directory.EnumerateDirectories(second.Path, Sealpost.Domain.BackupService.NamePrefix + "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Restore_refuses_a_folder_that_is_not_empty()
    {
        var backup = await BackupAsOperatorAsync();
        var target = Path.Combine(_elsewhere.Path, "busy");
        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "something"), "x");
        (await new CliRunner(target).RunAsync("restore", backup)).AssertCleanError(1, "not empty");
    }

    [Fact]
    public async Task Restore_refuses_a_folder_that_is_not_a_backup()
    {
        var target = Path.Combine(_elsewhere.Path, "data");
        (await new CliRunner(target).RunAsync("restore", _elsewhere.Path)).AssertCleanError(1, "not a complete backup");
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public async Task A_damaged_backup_is_refused_and_leaves_no_folder()
    {
        var backup = await BackupAsOperatorAsync();
        var database = Path.Combine(backup, "sealpost.db");
        var bytes = await File.ReadAllBytesAsync(database);
        for (var i = 4096; i < bytes.Length; i += 7)
        {
            bytes[i] ^= 0x5A;
        }

        await File.WriteAllBytesAsync(database, bytes);
        var target = Path.Combine(_elsewhere.Path, "data");
        (await new CliRunner(target).RunAsync("restore", backup)).AssertCleanError(1, "damaged");
        Assert.False(Directory.Exists(target));
    }
}
