using System.Text;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// Delivery batch keys (wrap kind 4): mail delivered to one account in a window shares one batch key,
/// sealed to the account's public key once, so a first read costs one X25519 per batch. Each wrap still
/// opens on its own, a tampered one fails alone, and a batch ends by age, by count and with its runtime.
/// </summary>
public sealed class DeliveryBatchTests
{
    private static byte[] Message(string subject) => Encoding.UTF8.GetBytes(
        $"From: <sender@remote.example>\r\nTo: <alice@example.test>\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\nBody of {subject}.\r\n");

    private static byte[] BatchIdOf(byte[] wrapped) => wrapped.AsSpan(22, ContentKeyWrap.BatchIdLength).ToArray();

    private static async Task<(TestRuntime Test, long Account, long Inbox)> WithMailAsync(int count, Action<Sealpost.Core.Configuration.SealpostOptions>? configure = null)
    {
        var test = await TestRuntime.CreateAsync(configure);
        var r = test.Runtime;
        var account = await r.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", "correct horse battery", null, 0);
        var inbox = (await r.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id;
        for (var i = 1; i <= count; i++)
        {
            await r.Delivery.DeliverAsync(Message($"m{i}"), [new DeliveryTarget(account.Id, inbox)], DateTimeOffset.UtcNow);
        }

        return (test, account.Id, inbox);
    }

    private static async Task<IAccountSession> LoginAsync(TestRuntime test) =>
        (await test.Runtime.Directory.LoginAsync("alice@example.test", "correct horse battery"))!.Value.Session;

    private static async Task<string> ReadAsync(TestRuntime test, IAccountSession session, long inbox, uint uid)
    {
        var record = (await test.Runtime.Store.Mail.GetMessageAsync(inbox, uid))!;
        using var opened = await test.Runtime.Reader.OpenAsync(session, record);
        return Encoding.UTF8.GetString(await opened.ReadAllAsync());
    }

    [Fact]
    public async Task Mail_delivered_in_one_window_shares_one_batch_key_and_every_message_reads_back()
    {
        var (test, _, inbox) = await WithMailAsync(3);
        await using var _ = test;
        var rows = await test.Runtime.Store.Mail.ListMessagesAsync(inbox, UidRange.All);
        Assert.All(rows, row => Assert.Equal(ContentKeyWrap.KindBatch, ContentKeyWrap.Describe(row.WrappedKey).Kind));
        Assert.Single(rows.Select(row => Convert.ToHexString(BatchIdOf(row.WrappedKey!))).Distinct());
        using var session = await LoginAsync(test);
        for (uint uid = 1; uid <= 3; uid++)
        {
            Assert.Contains($"Body of m{uid}.", await ReadAsync(test, session, inbox, uid));
        }
    }

    [Fact]
    public async Task With_batches_off_each_message_is_wrapped_with_its_own_hpke()
    {
        var (test, _, inbox) = await WithMailAsync(2, o => o.Vault.DeliveryBatchSeconds = 0);
        await using var _ = test;
        var rows = await test.Runtime.Store.Mail.ListMessagesAsync(inbox, UidRange.All);
        Assert.All(rows, row => Assert.Equal(ContentKeyWrap.KindHpke, ContentKeyWrap.Describe(row.WrappedKey).Kind));
        using var session = await LoginAsync(test);
        Assert.Contains("Body of m2.", await ReadAsync(test, session, inbox, 2));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_wrap_whose_sealed_batch_key_was_altered_fails_alone(bool alteredReadFirst)
    {
        var (test, _, inbox) = await WithMailAsync(2);
        await using var _ = test;
        var second = (await test.Runtime.Store.Mail.GetMessageAsync(inbox, 2))!.WrappedKey!;
        var altered = second.ToArray();
        altered[22 + ContentKeyWrap.BatchIdLength + Hpke.EncLength + 3] ^= 0x01; // inside the sealed batch key's ciphertext, same batch id
        await using (var connection = await SqliteFiles.OpenAsync(test.DataDirectory))
        {
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE messages SET wrapped_key = $w WHERE mailbox_id = $m AND uid = 2";
            update.Parameters.AddWithValue("$w", altered);
            update.Parameters.AddWithValue("$m", inbox);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        using var session = await LoginAsync(test);
        if (alteredReadFirst)
        {
            await Assert.ThrowsAsync<Sealpost.Core.SealpostException>(() => ReadAsync(test, session, inbox, 2));
            Assert.Contains("Body of m1.", await ReadAsync(test, session, inbox, 1));
        }
        else
        {
            Assert.Contains("Body of m1.", await ReadAsync(test, session, inbox, 1));
            await Assert.ThrowsAsync<Sealpost.Core.SealpostException>(() => ReadAsync(test, session, inbox, 2));
        }
    }

    private static SealRecipient Recipient()
    {
        var (_, publicKey) = Hpke.GenerateKeyPair();
        return new SealRecipient(7, 1, publicKey);
    }

    private static byte[] Wrap(DeliveryBatches batches, SealRecipient recipient) =>
        batches.Wrap(recipient, new byte[16], new byte[32]);

    [Fact]
    public void A_batch_ends_when_its_lifetime_is_over()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-12-07T10:00:00Z"));
        using var batches = new DeliveryBatches(TimeSpan.FromSeconds(300), time);
        var recipient = Recipient();
        var first = BatchIdOf(Wrap(batches, recipient));
        time.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(first, BatchIdOf(Wrap(batches, recipient)));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotEqual(first, BatchIdOf(Wrap(batches, recipient)));
    }

    [Fact]
    public void A_batch_ends_after_its_largest_number_of_messages()
    {
        using var batches = new DeliveryBatches(TimeSpan.FromHours(1));
        var recipient = Recipient();
        var first = BatchIdOf(Wrap(batches, recipient));
        for (var i = 1; i < DeliveryBatches.MaxMessages; i++)
        {
            Assert.Equal(first, BatchIdOf(Wrap(batches, recipient)));
        }

        Assert.NotEqual(first, BatchIdOf(Wrap(batches, recipient)));
    }

    [Fact]
    public void A_new_key_version_or_public_key_starts_a_new_batch()
    {
        using var batches = new DeliveryBatches(TimeSpan.FromHours(1));
        var recipient = Recipient();
        var first = BatchIdOf(Wrap(batches, recipient));
        Assert.NotEqual(first, BatchIdOf(Wrap(batches, recipient with { KeyVersion = 2 })));
        Assert.NotEqual(first, BatchIdOf(Wrap(batches, recipient with { PublicKey = Hpke.GenerateKeyPair().PublicKey })));
    }

    [Fact]
    public void Each_account_has_its_own_batch()
    {
        using var batches = new DeliveryBatches(TimeSpan.FromHours(1));
        var alice = Recipient();
        var bob = Recipient() with { AccountId = 8 };
        Assert.NotEqual(BatchIdOf(Wrap(batches, alice)), BatchIdOf(Wrap(batches, bob)));
    }
}

/// <summary>The body and metadata keys are HKDF-Expand of the content key (RFC 5869), whatever computes them: mail sealed before stays readable.</summary>
public sealed class ContentKeyDerivationTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void The_derived_keys_are_hkdf_expand_of_the_content_key(int seed)
    {
        var contentKey = new byte[32];
        new Random(seed).NextBytes(contentKey);
        var (body, metadata) = SealedMessageCodec.DeriveKeys(contentKey);
        Assert.Equal(System.Security.Cryptography.HKDF.Expand(System.Security.Cryptography.HashAlgorithmName.SHA256, contentKey, 32, "sealpost/body/v1"u8.ToArray()), body);
        Assert.Equal(System.Security.Cryptography.HKDF.Expand(System.Security.Cryptography.HashAlgorithmName.SHA256, contentKey, 32, "sealpost/metadata/v1"u8.ToArray()), metadata);
        Assert.Equal(metadata, SealedMessageCodec.DeriveMetadataKey(contentKey));
    }
}
