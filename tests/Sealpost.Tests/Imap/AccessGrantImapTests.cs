using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Crypto.Vault;
using Sealpost.Domain;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// A two-officer access grant end to end, with a real IMAP client: requested by an administrator,
/// approved by two officers with their personal keys, the owner's keys sealed to the grantee's by the
/// officers' offline recovery, then read-only reads in "Other Users/" (each audited) until revoked or expired.
/// </summary>
public sealed class AccessGrantImapTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private const string CarolPassword = "carol's own passphrase";
    private const string Greg = "greg@example.test";
    private const string GregPassword = "greg the investigator's passphrase";
    private const string CarolInbox = "Other Users/carol@example.test/INBOX";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestServer _server = null!;

    private SealpostRuntime R => _server.Server.Runtime;

    private static Actor Admin => SealpostRuntime.LocalAdministrator;

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-grants");
        _officers = TestOfficers.Create(_keys.Path);
        _server = await TestServer.StartAsync(configure: o => o.Vault.GrantExpirySweepSeconds = 1, officers: _officers, prepare: async runtime =>
        {
            await runtime.Directory.AddUserAsync(Admin, Carol, CarolPassword, null, 0);
            await runtime.Directory.AddUserAsync(Admin, Greg, GregPassword, null, 0);
        });
        foreach (var address in new[] { Carol, Greg })
        {
            await TestOfficers.EndorseAsync(R, address, 1, _officers.DanKey, EndorsementKind.Requester);
            await TestOfficers.EndorseAsync(R, address, 1, _officers.BobKey, EndorsementKind.Approver);
        }

        await SendAsync("grant-marker-one");
        await SendAsync("grant-marker-two");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _keys.Dispose();
    }

    private Task SendAsync(string subject) => _server.SendInboundAsync(Carol, subject);

    private Task<AccessGrantView> ApproveAsync(AccessGrantView grant, string keyFile) => TestOfficers.ApproveGrantAsync(R, grant, keyFile);

    /// <summary>Request, two approvals, the officers' offline recovery, apply: an active grant.</summary>
    private Task<AccessGrantView> ActiveGrantAsync(TimeSpan? window = null) => _officers.ActivateGrantAsync(R, Greg, Carol, window ?? TimeSpan.FromHours(2));

    private async Task<ImapClient> ConnectAsync(string user = Greg, string password = GregPassword)
    {
        var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(user, password);
        return client;
    }

    private async Task<IMailFolder> OpenCarolsInboxAsync(ImapClient client, FolderAccess access = FolderAccess.ReadOnly)
    {
        var folder = await client.GetFolderAsync(CarolInbox);
        await folder.OpenAsync(access);
        return folder;
    }

    [Fact]
    public async Task The_grantee_reads_the_owners_inbox_under_other_users()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var inbox = await OpenCarolsInboxAsync(client);
        var subjects = (await inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Envelope))).Select(m => m.Envelope!.Subject).Order().ToList();
        Assert.Equal(["grant-marker-one", "grant-marker-two"], subjects);
        Assert.Contains("body of grant-marker-one", (await inbox.GetMessageAsync(0)).TextBody);
    }

    [Fact]
    public async Task The_namespace_and_list_show_the_granted_mailboxes()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        Assert.Equal("Other Users", client.OtherNamespaces.Single().Path.TrimEnd('/'));
        var names = (await client.GetFoldersAsync(client.PersonalNamespaces[0])).Select(f => f.FullName).ToList();
        var other = (await client.GetFoldersAsync(client.OtherNamespaces[0])).Select(f => f.FullName).ToList();
        Assert.Contains(CarolInbox, names.Concat(other));
    }

    [Fact]
    public async Task Select_opens_the_granted_mailbox_read_only()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var inbox = await OpenCarolsInboxAsync(client, FolderAccess.ReadWrite);
        Assert.Equal(FolderAccess.ReadOnly, inbox.Access);
    }

    [Fact]
    public async Task Reading_a_message_does_not_mark_it_seen_for_the_owner()
    {
        await ActiveGrantAsync();
        using (var client = await ConnectAsync())
        {
            await (await OpenCarolsInboxAsync(client, FolderAccess.ReadWrite)).GetMessageAsync(0);
        }

        using var owner = await ConnectAsync(Carol, CarolPassword);
        await owner.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.All(await owner.Inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Flags)), m => Assert.False(m.Flags!.Value.HasFlag(MessageFlags.Seen)));
    }

    [Fact]
    public async Task Store_is_refused()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var inbox = await OpenCarolsInboxAsync(client);
        await Assert.ThrowsAnyAsync<Exception>(() => inbox.AddFlagsAsync(0, MessageFlags.Deleted, true));
        using var owner = await ConnectAsync(Carol, CarolPassword);
        await owner.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.All(await owner.Inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Flags)), m => Assert.False(m.Flags!.Value.HasFlag(MessageFlags.Deleted)));
    }

    [Fact]
    public async Task Append_to_the_granted_mailbox_is_refused_with_noperm()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var folder = await client.GetFolderAsync(CarolInbox);
        var refused = await Assert.ThrowsAsync<ImapCommandException>(() => folder.AppendAsync(new MimeMessage(new[] { MailboxAddress.Parse(Greg) }, new[] { MailboxAddress.Parse(Carol) }, "planted", new TextPart("plain") { Text = "x" })));
        Assert.Equal(ImapCommandResponse.No, refused.Response);
        Assert.Contains("read-only", refused.ResponseText);
    }

    [Fact]
    public async Task Expunge_is_refused()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var inbox = await OpenCarolsInboxAsync(client);
        await Assert.ThrowsAnyAsync<Exception>(() => inbox.ExpungeAsync());
    }

    [Fact]
    public async Task Copying_out_of_the_granted_mailbox_is_refused()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var inbox = await OpenCarolsInboxAsync(client);
        var refused = await Assert.ThrowsAsync<ImapCommandException>(() => inbox.CopyToAsync(new UniqueId(1), client.Inbox));
        Assert.Contains("read-only", refused.ResponseText);
    }

    [Fact]
    public async Task Creating_a_folder_in_the_other_users_namespace_is_refused()
    {
        await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var refused = await Assert.ThrowsAsync<ImapCommandException>(() => client.GetFolder(client.PersonalNamespaces[0]).CreateAsync("Other Users", true));
        Assert.Contains("read-only", refused.ResponseText);
    }

    [Fact]
    public async Task Every_read_is_in_the_audit_trail_without_content()
    {
        var grant = await ActiveGrantAsync();
        using (var client = await ConnectAsync())
        {
            var inbox = await OpenCarolsInboxAsync(client);
            await inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Envelope));
            await inbox.GetMessageAsync(1);
        }

        var reads = await R.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.GrantedMailRead, Target: AccessGrantService.Target(grant.Id)));
        Assert.Contains(reads, r => r.Event.Actor == Greg && r.Event.Detail!.Contains("envelope and headers of 2 message(s)"));
        Assert.Contains(reads, r => r.Event.Detail!.Contains("message UID 2 opened"));
        Assert.DoesNotContain(reads, r => r.Event.Detail!.Contains("grant-marker"));
    }

    [Fact]
    public async Task The_owner_sees_nothing_of_the_grantees_namespace()
    {
        await ActiveGrantAsync();
        using var owner = await ConnectAsync(Carol, CarolPassword);
        var other = await owner.GetFoldersAsync(owner.OtherNamespaces[0]);
        Assert.Empty(other);
    }

    [Fact]
    public async Task A_revoked_grant_reads_nothing_more_in_an_open_session()
    {
        var grant = await ActiveGrantAsync();
        using var client = await ConnectAsync();
        var inbox = await OpenCarolsInboxAsync(client);
        await R.AccessGrants.RevokeAsync(Admin, grant.Id);
        var refused = await Assert.ThrowsAsync<ImapCommandException>(() => inbox.GetMessageAsync(0));
        Assert.Contains("access grant has ended", refused.ResponseText);
    }

    [Fact]
    public async Task A_revoked_grant_keeps_no_keys()
    {
        var grant = await ActiveGrantAsync();
        await R.AccessGrants.RevokeAsync(Admin, grant.Id);
        var stored = (await R.Store.Directory.GetAccessGrantAsync(grant.Id))!;
        Assert.Equal(AccessGrantState.Revoked, stored.State);
        Assert.Empty(stored.Wraps);
    }

    [Fact]
    public async Task At_expiry_the_server_deletes_the_keys_and_the_mailbox_is_gone_from_the_list()
    {
        var grant = await ActiveGrantAsync(TimeSpan.FromSeconds(3));
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        AccessGrant stored;
        while ((stored = (await R.Store.Directory.GetAccessGrantAsync(grant.Id))!).State != AccessGrantState.Expired && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(AccessGrantState.Expired, stored.State);
        Assert.Empty(stored.Wraps);
        using var client = await ConnectAsync();
        Assert.Empty(await client.GetFoldersAsync(client.OtherNamespaces[0]));
    }

    [Fact]
    public async Task By_default_the_owner_is_not_told()
    {
        await ActiveGrantAsync();
        using var owner = await ConnectAsync(Carol, CarolPassword);
        await owner.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.Equal(2, owner.Inbox.Count);
    }

    [Fact]
    public async Task A_grant_is_not_readable_before_its_keys_arrive()
    {
        var grant = await R.AccessGrants.RequestAsync(Admin, Greg, Carol, "case 2026-115: approved but not yet opened", null, DateTimeOffset.UtcNow.AddHours(1));
        await ApproveAsync(grant, _officers.AliceKey);
        await ApproveAsync(grant, _officers.BobKey);
        using var client = await ConnectAsync();
        Assert.Empty(await client.GetFoldersAsync(client.OtherNamespaces[0]));
    }
}
