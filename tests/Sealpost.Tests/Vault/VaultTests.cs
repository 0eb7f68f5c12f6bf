using System.Text;
using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Crypto.Vault;
using Sealpost.Mime;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

public sealed class VaultTests : IAsyncLifetime
{
    private TestRuntime _test = null!;

    private Sealpost.Server.SealpostRuntime R => _test.Runtime;

    public async Task InitializeAsync() => _test = await TestRuntime.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private static byte[] Message(string subject, string body = "Hello there.\r\n") => Encoding.UTF8.GetBytes(
        $"From: Sender <sender@remote.example>\r\nTo: <alice@example.test>\r\nSubject: {subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n" +
        $"Message-ID: <{Guid.NewGuid():N}@remote.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}");

    private async Task<Account> UserAsync(string local, string password = "correct horse battery") =>
        await R.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, $"{local}@example.test", password, null, 0);

    private async Task<IAccountSession> LoginAsync(string local, string password = "correct horse battery") =>
        (await R.Directory.LoginAsync($"{local}@example.test", password))?.Session ?? throw new InvalidOperationException("login failed");

    private async Task<(Account Account, long Inbox)> WithInboxAsync(string local)
    {
        var account = await UserAsync(local);
        return (account, (await R.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id);
    }

    private async Task<byte[]> ReadAsync(IAccountSession session, long mailboxId, uint uid)
    {
        var record = (await R.Store.Mail.GetMessageAsync(mailboxId, uid))!;
        byte[] body;
        using (var opened = await R.Reader.OpenAsync(session, record))
        {
            body = await opened.ReadAllAsync();
        }

        await R.Reader.FlushRewrapsAsync(); // the re-wrap the read found, written after it answered
        return body;
    }

    private string DatabasePath => Path.Combine(_test.DataDirectory, SqliteStore.DatabaseFileName);

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await SqliteFiles.OpenAsync(_test.DataDirectory);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_first_read_answers_while_the_store_takes_no_writes_and_its_rewrap_is_written_afterwards()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var raw = Message("Read while writes wait");
        await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        using var session = await LoginAsync("alice");
        var record = (await R.Store.Mail.GetMessageAsync(inbox, 1))!;
        await using (var writer = await SqliteFiles.OpenAsync(_test.DataDirectory))
        {
            await using var begin = writer.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE"; // every other writer waits; readers do not
            await begin.ExecuteNonQueryAsync();
            using (var opened = await R.Reader.OpenAsync(session, record))
            {
                Assert.Equal(raw, await opened.ReadAllAsync());
            }

            Assert.Equal(ContentKeyWrap.KindBatch, ContentKeyWrap.Describe((await R.Store.Mail.GetMessageAsync(inbox, 1))!.WrappedKey).Kind);
            await using var rollback = writer.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        await R.Reader.FlushRewrapsAsync();
        Assert.Equal(ContentKeyWrap.KindFolder, ContentKeyWrap.Describe((await R.Store.Mail.GetMessageAsync(inbox, 1))!.WrappedKey).Kind);
    }

    [Fact]
    public async Task A_wrap_written_after_a_read_is_kept_when_the_reads_rewrap_comes_later()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        await R.Delivery.DeliverAsync(Message("Rotated meanwhile"), [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        using var session = await LoginAsync("alice");
        var record = (await R.Store.Mail.GetMessageAsync(inbox, 1))!;
        var meanwhile = SealedMessageCodec.Rewrap((AccountSession)session, record.WrappedKey!); // as a rotation or another node writes it
        await using (var writer = await SqliteFiles.OpenAsync(_test.DataDirectory))
        {
            await using var begin = writer.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
            using (await R.Reader.OpenAsync(session, record))
            {
            }

            await using var update = writer.CreateCommand();
            update.CommandText = "UPDATE messages SET wrapped_key = $w WHERE mailbox_id = $m AND uid = 1; COMMIT";
            update.Parameters.AddWithValue("$w", meanwhile);
            update.Parameters.AddWithValue("$m", inbox);
            await update.ExecuteNonQueryAsync();
        }

        await R.Reader.FlushRewrapsAsync();
        Assert.Equal(meanwhile, (await R.Store.Mail.GetMessageAsync(inbox, 1))!.WrappedKey);
    }

    [Fact]
    public async Task One_sealed_copy_serves_every_recipient_byte_for_byte_and_is_rewrapped_on_first_read()
    {
        var (alice, aliceInbox) = await WithInboxAsync("alice");
        var (bob, bobInbox) = await WithInboxAsync("bob");
        var raw = Message("Quarterly figures");
        var results = await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, aliceInbox), new DeliveryTarget(bob.Id, bobInbox, MessageFlags.Flagged)], DateTimeOffset.UtcNow);
        Assert.Equal(results[0].BlobId, results[1].BlobId);

        using var aliceSession = await LoginAsync("alice");
        using var bobSession = await LoginAsync("bob");
        var before = (await R.Store.Mail.GetMessageAsync(aliceInbox, 1))!.WrappedKey!;
        Assert.Equal(ContentKeyWrap.KindBatch, before[1]); // as delivered: under the delivery batch key sealed to her public key
        Assert.Equal(raw, await ReadAsync(aliceSession, aliceInbox, 1));
        var after = (await R.Store.Mail.GetMessageAsync(aliceInbox, 1))!.WrappedKey!;
        Assert.Equal(ContentKeyWrap.KindFolder, after[1]); // re-wrapped under the inbox's folder key
        Assert.Equal(raw, await ReadAsync(aliceSession, aliceInbox, 1));
        Assert.Equal(raw, await ReadAsync(bobSession, bobInbox, 1));

        // Bob's session cannot open Alice's copy.
        var aliceRecord = (await R.Store.Mail.GetMessageAsync(aliceInbox, 1))!;
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(bobSession, aliceRecord))).Kind);
    }

    [Fact]
    public async Task Partial_reads_and_metadata_come_from_the_sealed_copy()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var body = string.Concat(Enumerable.Range(0, 20000).Select(i => $"line {i}\r\n"));
        var raw = Message("Long report", body);
        await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        using var session = await LoginAsync("alice");
        using var opened = await R.Reader.OpenAsync(session, (await R.Store.Mail.GetMessageAsync(inbox, 1))!);
        Assert.Equal(raw.AsSpan(100_000, 300).ToArray(), await opened.ReadRangeAsync(100_000, 300));
        var metadata = await opened.ReadMetadataAsync();
        Assert.Equal("Long report", metadata.Envelope.Subject);
        Assert.Equal(raw.Length - metadata.Body.BodyOffset, metadata.Body.Octets);
        Assert.StartsWith("line 0 line 1", metadata.Preview);

        var listed = Assert.Single(await R.Reader.ReadMetadataAsync(session, inbox, UidRange.All));
        Assert.Equal("Long report", listed.Metadata!.Value.BaseSubject);
    }

    [Fact]
    public async Task A_message_nested_past_the_mime_depth_limit_is_stored_and_its_metadata_reads_back()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var raw = LineEndings.ToCrlf(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "mime", "11-deep-nesting.eml"))).ToArray(); // 40 levels
        await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        using var session = await LoginAsync("alice");

        var metadata = Assert.Single(await R.Reader.ReadMetadataAsync(session, inbox, UidRange.All)).Metadata!;
        Assert.True(metadata.TryGetSearchHeader("subject", out var subject));
        Assert.Equal("deep", subject);
        Assert.True(metadata.Value.Malformed); // cut at the limit, the rest opaque
        var depth = 0;
        for (var part = metadata.Value.Body; part.Parts is { Count: > 0 } parts; part = parts[0])
        {
            depth++;
        }

        Assert.Equal(R.Options.Limits.MaxMimeDepth, depth);
    }

    [Fact]
    public async Task A_large_listing_is_read_in_slices_and_comes_back_whole_and_in_order()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = w; i < 2100; i += 4)
            {
                await R.Delivery.DeliverAsync(Message("n" + i), [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
            }
        })));
        using var session = await LoginAsync("alice");
        var listed = await R.Reader.ReadMetadataAsync(session, inbox, UidRange.All);
        Assert.Equal(Enumerable.Range(1, 2100).Select(i => (uint)i), listed.Select(m => m.Message.Uid));
        Assert.Equal(2100, listed.Select(m => m.Metadata!.Value.Envelope.Subject).Distinct().Count());
        Assert.Equal(100, (await R.Reader.ReadMetadataAsync(session, inbox, new UidRange(2001, 5000))).Count);
    }

    [Fact]
    public async Task Metadata_for_rows_given_out_of_uid_order_is_each_rows_own()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        for (var i = 1; i <= 40; i++) // past the bulk-read threshold: one store read for the span, joined to the rows
        {
            await R.Delivery.DeliverAsync(Message("subject " + i), [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        }

        using var session = await LoginAsync("alice");
        var rows = (await R.Store.Mail.ListMessagesAsync(inbox, UidRange.All)).Reverse().Where(m => m.Uid != 7).ToList();
        var metadata = await R.Reader.MetadataForAsync(session, inbox, rows);

        Assert.Equal(rows.Select(m => "subject " + m.Uid), metadata.Select(m => m!.Value.Envelope.Subject));
    }

    [Fact]
    public async Task A_password_change_keeps_mail_readable_and_the_old_password_stops_working_even_when_cached()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var raw = Message("Before the change");
        await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        (await LoginAsync("alice")).Dispose(); // now cached

        await R.Directory.SetPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "a new pass phrase", "correct horse battery");
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", "correct horse battery"));
        using var session = await LoginAsync("alice", "a new pass phrase");
        Assert.Equal(raw, await ReadAsync(session, inbox, 1));
        var wrong = await Assert.ThrowsAsync<SealpostException>(() => R.Directory.SetPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "x new pass phrase", "not the old one"));
        Assert.Equal(ErrorKind.Forbidden, wrong.Kind);
    }

    [Fact]
    public async Task Simultaneous_logins_with_one_password_cost_one_argon2id_and_refusals_are_not_remembered()
    {
        await UserAsync("alice");
        var kdf = R.Vault.Kdf;

        // A mail client opening eight connections at once.
        var before = kdf.Runs;
        var sessions = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => R.Directory.LoginAsync("alice@example.test", "correct horse battery"))));
        Assert.All(sessions, s => Assert.NotNull(s));
        foreach (var s in sessions)
        {
            s!.Value.Session.Dispose();
        }

        Assert.Equal(1, kdf.Runs - before);

        // Eight wrong attempts at once: eight refusals (those that overlap share the work)...
        var wrong = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => R.Directory.LoginAsync("alice@example.test", "not the password"))));
        Assert.All(wrong, Assert.Null);

        // ...and no refusal is kept: that secret becomes the password and works at once.
        await R.Directory.SetPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "not the password", "correct horse battery");
        using var session = await LoginAsync("alice", "not the password");
        Assert.NotNull(session);
    }

    /// <summary>Unlocked private keys leave memory when their cache entry expires, not only at a later login.</summary>
    [Fact]
    public async Task An_expired_cached_login_is_swept_from_memory_without_another_login()
    {
        await using var test = await TestRuntime.CreateAsync(o => o.Vault.LoginCacheSeconds = 1);
        var r = test.Runtime;
        await r.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "correct horse battery", null, 0);
        using (var session = (await r.Directory.LoginAsync("alice@example.test", "correct horse battery"))?.Session)
        {
            Assert.NotNull(session);
        }

        Assert.Equal(1, r.Vault.CachedLogins);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (r.Vault.CachedLogins > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the expired login is still cached");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_suspended_account_is_refused_even_with_a_cached_login()
    {
        await UserAsync("alice");
        (await LoginAsync("alice")).Dispose();
        await R.Directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", AccountState.Suspended);
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", "correct horse battery"));
    }

    [Fact]
    public async Task App_passwords_unlock_the_same_key_and_die_with_a_reset()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var raw = Message("For the phone");
        await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        var app = await R.Directory.CreateAppPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "correct horse battery", "phone");
        using (var phone = await LoginAsync("alice", app))
        {
            Assert.Equal(raw, await ReadAsync(phone, inbox, 1));
        }

        await R.Directory.SetPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "after the reset", null);
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", app));
    }

    [Fact]
    public async Task A_reset_makes_old_mail_unreadable_until_recovery_and_tells_the_owner()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var old = Message("Sealed to the first key");
        await R.Delivery.DeliverAsync(old, [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        string projectsKeyName;
        using (var first = await LoginAsync("alice"))
        {
            await R.Mailboxes.CreateAsync(alice.Id, first.Names, "Projects");
            projectsKeyName = "Projects";
        }

        await R.Directory.SetPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "a fresh password", null);
        using var session = await LoginAsync("alice", "a fresh password");
        Assert.Equal(2, session.CurrentKeyVersion);

        // Old mail: stored, but not for this key. The notification (sealed to the new key) reads.
        var oldRecord = (await R.Store.Mail.GetMessageAsync(inbox, 1))!;
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(session, oldRecord))).Kind);
        var notice = Encoding.UTF8.GetString(await ReadAsync(session, inbox, 2));
        Assert.Contains("Subject: Your mail password was reset", notice);

        // Special folders were re-sealed under the new key; the user's own folder awaits recovery.
        var paths = (await R.Mailboxes.ListAsync(alice.Id, session.Names)).Select(p => p.Path).ToList();
        Assert.Contains("INBOX", paths);
        Assert.Contains("Sent", paths);
        Assert.DoesNotContain(projectsKeyName, paths);
        Assert.Contains(paths, p => p.StartsWith("#sealed-", StringComparison.Ordinal));

        // The security officers' recovery key opens the old key, and with it the old mail.
        var wrap = (await R.Store.Directory.ListRecoveryWrapsAsync(alice.Id)).Single(w => w.KeyVersion == 1);
        var recovered = AccountVault.OpenRecoveryWrap(_test.RecoveryPrivateKey, wrap);
        Assert.Equal((await R.Store.Directory.ListAccountKeysAsync(alice.Id))[0].PublicKey, Sealpost.Crypto.Primitives.Hpke.PublicKeyOf(recovered));
        using var recoveredSession = AccountSession.FromPrivateKey(alice.Id, 1, recovered);
        Assert.Equal(old, await ReadAsync(recoveredSession, inbox, 1));
    }

    [Fact]
    public async Task Rotation_moves_every_wrap_and_name_to_the_new_key()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var raws = new List<byte[]>();
        for (var i = 0; i < 3; i++)
        {
            raws.Add(Message("Message " + i));
            await R.Delivery.DeliverAsync(raws[^1], [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        }

        using (var first = await LoginAsync("alice"))
        {
            await R.Mailboxes.CreateAsync(alice.Id, first.Names, "Legal/Contracts");
            Assert.Equal(raws[0], await ReadAsync(first, inbox, 1)); // one symmetric wrap, two HPKE wraps
            await R.Store.Mail.GetOrCreateKeywordAsync(alice.Id, first.Names.LookupKey(alice.Id, "$Confidential"), first.Names.Seal(alice.Id, "$Confidential"));
        }

        var app = await R.Directory.CreateAppPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "correct horse battery", "phone");
        await R.Directory.RotateKeyAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "correct horse battery");

        using var session = await LoginAsync("alice");
        Assert.Equal(2, session.CurrentKeyVersion);
        Assert.Equal([2], session.KeyVersions);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(raws[i], await ReadAsync(session, inbox, (uint)(i + 1)));
        }

        // Every content key is under the inbox's new folder key, which only version 2 opens.
        Assert.All(await R.Store.Mail.ListMessagesAsync(inbox, UidRange.All), m => Assert.Equal(inbox, ContentKeyWrap.FolderOf(m.WrappedKey)));
        Assert.Equal(2, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian((await R.Store.Mail.GetMailboxAsync(inbox))!.SealedName.AsSpan(1)));
        Assert.Contains("Legal/Contracts", (await R.Mailboxes.ListAsync(alice.Id, session.Names)).Select(p => p.Path));
        Assert.Equal("$Confidential", session.Names.Unseal(alice.Id, Assert.Single(await R.Store.Mail.ListKeywordsAsync(alice.Id)).SealedName));
        Assert.All(await R.Store.Directory.ListCredentialsAsync(alice.Id), c => Assert.Equal(2, c.KeyVersion));
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", app));
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Directory.RotateKeyAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "wrong password!"))).Kind);
    }

    [Fact]
    public async Task A_swapped_public_key_refuses_delivery_with_a_temporary_failure_and_a_security_event()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var (_, attackerPublic) = Sealpost.Crypto.Primitives.Hpke.GenerateKeyPair();
        await ExecuteAsync("UPDATE account_keys SET public_key = $p WHERE account_id = $a", ("$p", attackerPublic), ("$a", alice.Id));
        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.Delivery.DeliverAsync(Message("x"), [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow));
        Assert.Equal(ErrorKind.TemporarilyUnavailable, refused.Kind);
        Assert.Empty(await R.Store.Mail.ListMessagesAsync(inbox, UidRange.All));
        Assert.Contains("[3000]", _test.Logs.ToString());
        // The owner's login notices too: the unwrapped private key no longer matches the stored public key.
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", "correct horse battery"));
        Assert.Contains("[3001]", _test.Logs.ToString());
    }

    [Fact]
    public async Task Swapped_wrapped_keys_or_blobs_are_detected_when_opened()
    {
        var (alice, inbox) = await WithInboxAsync("alice");
        var a = await R.Delivery.DeliverAsync(Message("A"), [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        var b = await R.Delivery.DeliverAsync(Message("B"), [new DeliveryTarget(alice.Id, inbox)], DateTimeOffset.UtcNow);
        using var session = await LoginAsync("alice");
        await ReadAsync(session, inbox, 1);
        await ReadAsync(session, inbox, 2); // both re-wrapped symmetric, so the swap below is of like for like

        // Point message 1 at message 2's blob: its key is bound to message 1's id.
        await ExecuteAsync("UPDATE messages SET blob_id = $b WHERE mailbox_id = $m AND uid = 1", ("$b", b[0].BlobId), ("$m", inbox));
        var swappedBlob = (await R.Store.Mail.GetMessageAsync(inbox, 1))!;
        using (var opened = await R.Reader.OpenAsync(session, swappedBlob))
        {
            Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => opened.ReadAllAsync())).Kind);
            Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => opened.ReadMetadataAsync())).Kind);
        }

        // Move message 2's wrapped key into another account's row: bound to Alice's account id.
        var (bob, bobInbox) = await WithInboxAsync("bob");
        await R.Delivery.DeliverAsync(Message("C"), [new DeliveryTarget(bob.Id, bobInbox)], DateTimeOffset.UtcNow);
        var aliceWrap = (await R.Store.Mail.GetMessageAsync(inbox, 2))!.WrappedKey!;
        await ExecuteAsync("UPDATE messages SET wrapped_key = $w, blob_id = $b WHERE mailbox_id = $m AND uid = 1", ("$w", aliceWrap), ("$b", b[0].BlobId), ("$m", bobInbox));
        using var bobSession = await LoginAsync("bob");
        var moved = (await R.Store.Mail.GetMessageAsync(bobInbox, 1))!;
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(bobSession, moved))).Kind);

        // A changed byte in a sealed blob (to 0x00, or to 0x01 where it was 0x00 already: one time in 256 it was).
        await ExecuteAsync("UPDATE blobs SET inline_data = CAST(substr(inline_data, 1, 40) || CASE WHEN substr(inline_data, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(inline_data, 42) AS BLOB) WHERE id = $b", ("$b", a[0].BlobId));
        await ExecuteAsync("UPDATE messages SET blob_id = $b WHERE mailbox_id = $m AND uid = 1", ("$b", a[0].BlobId), ("$m", inbox));
        using (var flipped = await R.Reader.OpenAsync(session, (await R.Store.Mail.GetMessageAsync(inbox, 1))!))
        {
            Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => flipped.ReadAllAsync())).Kind);
        }

        Assert.Contains("[3003]", _test.Logs.ToString());
    }

    [Fact]
    public async Task A_credential_wrap_copied_from_another_account_does_not_unlock()
    {
        var alice = await UserAsync("alice", "same password for both");
        var mallory = await UserAsync("mallory", "mallory's own password");
        var aliceCredential = (await R.Store.Directory.ListCredentialsAsync(alice.Id)).Single();
        // Mallory's row gets Alice's verifier and wrapped key: the wrap is bound to Alice's account id.
        await ExecuteAsync("UPDATE credentials SET verifier = $v, wrapped_key = $w WHERE account_id = $a", ("$v", aliceCredential.Verifier), ("$w", aliceCredential.WrappedKey), ("$a", mallory.Id));
        Assert.Null(await R.Directory.LoginAsync("mallory@example.test", "same password for both"));
    }

    [Fact]
    public async Task The_keystore_opens_only_with_its_master_key()
    {
        await using var reopened = await _test.ReopenAsync();
        Assert.Equal(R.Keystore.DirectoryPublicKey, reopened.Keystore.DirectoryPublicKey);

        var options = R.Options;
        var otherKeyFile = Path.Combine(_test.Root, "other.master.key");
        KeyFiles.Write(otherKeyFile, KeyFiles.MasterLabel, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var wrong = new Sealpost.Core.Configuration.SealpostOptions { DataDirectory = options.DataDirectory, PasswordHashing = options.PasswordHashing, Vault = new() { MasterKeyFile = otherKeyFile } };
        var refused = await Assert.ThrowsAsync<SealpostException>(() => Sealpost.Server.SealpostRuntime.OpenAsync(wrong, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        Assert.Contains("master key", refused.Message);
    }
}
