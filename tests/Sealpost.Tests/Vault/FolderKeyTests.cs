using System.Text;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// Folder keys: each folder has a random key wrapped under the account key; its name and, from the
/// first read on, its messages' content keys are under it, so the folder opens with its key alone
/// (what sharing one folder will hand over) and nothing else does.
/// </summary>
public sealed class FolderKeyTests : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private const string Password = "alice's folder-key passphrase";
    private TestRuntime _test = null!;
    private long _alice;

    private SealpostRuntime R => _test.Runtime;

    public async Task InitializeAsync()
    {
        _test = await TestRuntime.CreateAsync();
        _alice = (await R.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, Alice, Password, null, 0)).Id;
    }

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private async Task<AccountSession> LoginAsync() => (AccountSession)(await R.Directory.LoginAsync(Alice, Password))!.Value.Session;

    private async Task<(Mailbox Mailbox, uint Uid)> DeliverAsync(string folder, string body)
    {
        using var session = await LoginAsync();
        var mailbox = await R.Mailboxes.FindAsync(_alice, session.Names, folder) ?? await R.Mailboxes.CreateAsync(_alice, session.Names, folder);
        var raw = Encoding.ASCII.GetBytes($"From: <x@remote.example>\r\nTo: <{Alice}>\r\nSubject: {body}\r\nMessage-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\n{body}\r\n");
        var uid = (await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(_alice, mailbox.Id)], DateTimeOffset.UtcNow))[0].Uid;
        return (mailbox, uid);
    }

    private async Task<MessageRecord> RowAsync(long mailboxId, uint uid) => (await R.Store.Mail.ListMessagesAsync(mailboxId, new UidRange(uid, uid))).Single();

    private async Task<Mailbox> MailboxAsync(long id) => (await R.Store.Mail.GetMailboxAsync(id))!;

    private async Task ReadAsync(long mailboxId, uint uid)
    {
        using var session = await LoginAsync();
        using (await R.Reader.OpenAsync(session, await RowAsync(mailboxId, uid)))
        {
        }

        await R.Reader.FlushRewrapsAsync(); // the re-wrap the read found, written after it answered
    }

    /// <summary>What a holder of the folder key alone does: open a message's content key and its body.</summary>
    private async Task<string> BodyWithFolderKeyAsync(byte[] folderKey, MessageRecord row)
    {
        var contentKey = ContentKeyWrap.UnwrapFolder(folderKey, _alice, row.WrappedKey!);
        var (bodyKey, _) = SealedMessageCodec.DeriveKeys(contentKey);
        await using var blob = await R.Store.Mail.OpenBlobAsync(row.BlobId);
        using var copy = new MemoryStream();
        await blob.CopyToAsync(copy);
        return Encoding.ASCII.GetString(ChunkedAead.Open(bodyKey, copy.ToArray()));
    }

    private async Task<byte[]> FolderKeyAsync(long mailboxId)
    {
        using var session = await LoginAsync();
        return session.FolderKey(mailboxId, (await MailboxAsync(mailboxId)).SealedName)!.ToArray();
    }

    [Fact]
    public async Task A_message_delivered_while_its_owner_is_away_goes_under_its_folder_key_at_the_first_read()
    {
        var (inbox, uid) = await DeliverAsync("INBOX", "first");
        Assert.Equal(ContentKeyWrap.KindBatch, ContentKeyWrap.Describe((await RowAsync(inbox.Id, uid)).WrappedKey).Kind);
        await ReadAsync(inbox.Id, uid);
        var row = await RowAsync(inbox.Id, uid);
        Assert.Equal(ContentKeyWrap.KindFolder, ContentKeyWrap.Describe(row.WrappedKey).Kind);
        Assert.Equal(inbox.Id, ContentKeyWrap.FolderOf(row.WrappedKey));
    }

    [Fact]
    public async Task A_folder_opens_with_its_key_alone_name_and_messages()
    {
        var (falcon, uid) = await DeliverAsync("Project Falcon", "falcon budget");
        await ReadAsync(falcon.Id, uid);
        var key = await FolderKeyAsync(falcon.Id);
        Assert.Equal("Project Falcon", SealedNameProtector.OpenFolderName(_alice, key, (await MailboxAsync(falcon.Id)).SealedName));
        Assert.Contains("falcon budget", await BodyWithFolderKeyAsync(key, await RowAsync(falcon.Id, uid)));
    }

    [Fact]
    public async Task Another_folders_key_opens_neither_its_name_nor_its_messages()
    {
        var (falcon, uid) = await DeliverAsync("Project Falcon", "falcon budget");
        var (inbox, inboxUid) = await DeliverAsync("INBOX", "hello");
        await ReadAsync(falcon.Id, uid);
        await ReadAsync(inbox.Id, inboxUid);
        var inboxKey = await FolderKeyAsync(inbox.Id);
        Assert.Null(SealedNameProtector.OpenFolderName(_alice, inboxKey, (await MailboxAsync(falcon.Id)).SealedName));
        await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(async () => await BodyWithFolderKeyAsync(inboxKey, await RowAsync(falcon.Id, uid)));
    }

    [Fact]
    public async Task A_rename_keeps_the_folder_key()
    {
        var (falcon, uid) = await DeliverAsync("Project Falcon", "falcon budget");
        await ReadAsync(falcon.Id, uid);
        var before = await FolderKeyAsync(falcon.Id);
        using (var session = await LoginAsync())
        {
            await R.Mailboxes.RenameAsync(_alice, session.Names, "Project Falcon", "Archive/Falcon");
        }

        Assert.Equal(before, await FolderKeyAsync(falcon.Id));
        Assert.Contains("falcon budget", await BodyWithFolderKeyAsync(before, await RowAsync(falcon.Id, uid)));
    }

    [Fact]
    public async Task A_rotation_gives_every_folder_a_new_key_and_the_old_one_opens_nothing_after()
    {
        var (falcon, uid) = await DeliverAsync("Project Falcon", "falcon budget");
        await ReadAsync(falcon.Id, uid);
        var oldKey = await FolderKeyAsync(falcon.Id);
        await R.Directory.RotateKeyAsync(SealpostRuntime.LocalAdministrator, Alice, Password);

        var newKey = await FolderKeyAsync(falcon.Id);
        Assert.NotEqual(oldKey, newKey);
        Assert.Contains("falcon budget", await BodyWithFolderKeyAsync(newKey, await RowAsync(falcon.Id, uid)));
        await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(async () => await BodyWithFolderKeyAsync(oldKey, await RowAsync(falcon.Id, uid)));

        // Mail after the rotation, refiled at its first read, is under the new key only.
        var (_, later) = await DeliverAsync("Project Falcon", "after the rotation");
        await ReadAsync(falcon.Id, later);
        await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(async () => await BodyWithFolderKeyAsync(oldKey, await RowAsync(falcon.Id, later)));
        Assert.Null(SealedNameProtector.OpenFolderName(_alice, oldKey, (await MailboxAsync(falcon.Id)).SealedName));
    }

    [Fact]
    public async Task A_folder_sealed_before_folder_keys_gets_one_and_its_messages_follow_at_the_first_read()
    {
        var (falcon, uid) = await DeliverAsync("Project Falcon", "falcon budget");
        using (var session = await LoginAsync())
        {
            // What an older release stored: the name under the account's names key, the content key under its symmetric key.
            await R.Store.Mail.RenameMailboxAsync(falcon.Id, falcon.ParentId, falcon.NameKey, session.Names.Seal(_alice, "Project Falcon"));
            await R.Store.Mail.UpdateWrappedKeysAsync(falcon.Id, [(uid, SealedMessageCodec.Rewrap(session, (await RowAsync(falcon.Id, uid)).WrappedKey!))]);
        }

        Assert.Equal(1, (await MailboxAsync(falcon.Id)).SealedName[0]);
        Assert.Equal(ContentKeyWrap.KindSymmetric, ContentKeyWrap.Describe((await RowAsync(falcon.Id, uid)).WrappedKey).Kind);
        await ReadAsync(falcon.Id, uid);

        Assert.Equal(2, (await MailboxAsync(falcon.Id)).SealedName[0]);
        var key = await FolderKeyAsync(falcon.Id);
        Assert.Contains("falcon budget", await BodyWithFolderKeyAsync(key, await RowAsync(falcon.Id, uid)));
        using var again = await LoginAsync();
        Assert.NotNull(await R.Mailboxes.FindAsync(_alice, again.Names, "Project Falcon"));
    }
}
