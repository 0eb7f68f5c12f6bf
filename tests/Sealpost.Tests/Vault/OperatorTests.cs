using System.Security.Cryptography;
using System.Text;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// The promise, tried as an operator with root would: every file of the data folder (both databases,
/// their WALs, blob files, unseal.json, the log key), the server's log, and the master key that an
/// auto-unseal provider (HSM, TPM, peer) lets root obtain; no user's password, no officer's recovery
/// key. Every 32-byte value they can read or open is tried as each kind of key the vault uses: an
/// account private key (on every message and folder name), a credential wrap key and a recovery
/// private key. None may open anything, and none, used as a person's or a key version's signing key,
/// makes a key version that mail is then sealed to (the officers' keys are on their own machines).
/// </summary>
public sealed class OperatorTests : IAsyncLifetime
{
    private TempFolder _officersFolder = null!;
    private TestOfficers _officers = null!;
    private TestRuntime _test = null!;

    private SealpostRuntime R => _test.Runtime;

    /// <summary>A new account's first version, requested by Dan and approved by Alice on their own machines (no officer key is on the node).</summary>
    private async Task EndorseFirstVersionAsync(string address)
    {
        await TestOfficers.EndorseAsync(R, address, 1, _officers.DanKey, EndorsementKind.Requester);
        await TestOfficers.EndorseAsync(R, address, 1, _officers.AliceKey, EndorsementKind.Approver);
    }

    public async Task InitializeAsync()
    {
        _officersFolder = new TempFolder("sealpost-officers");
        _officers = TestOfficers.Create(_officersFolder.Path);
        _test = await TestRuntime.CreateAsync(officers: _officers);
        var alice = await R.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "set by the administrator", null, 0);
        await EndorseFirstVersionAsync("alice@example.test");
        var domain = (await R.Store.Directory.FindDomainAsync(DomainName.Parse("example.test")))!;
        await R.Directory.SetPasswordAsync(Actor.ForAccount(alice, domain.TenantId, "api", "127.0.0.1"), "alice@example.test", "only alice knows this one", "set by the administrator");
        await R.Directory.CreateAppPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "only alice knows this one", "phone");
        var (carol, token, _) = await R.Directory.AddUserForEnrolmentAsync(SealpostRuntime.LocalAdministrator, "carol@example.test", null, 0);
        await EndorseFirstVersionAsync("carol@example.test");
        await R.Directory.RedeemEnrolmentAsync(Actor.Anonymous("api", "127.0.0.1"), "carol@example.test", token, "carol chose this passphrase");
        using (var session = (await R.Directory.LoginAsync("alice@example.test", "only alice knows this one"))?.Session ?? throw new InvalidOperationException("login failed"))
        {
            await R.Mailboxes.CreateAsync(alice.Id, session.Names, "Project Falcon");
        }

        foreach (var account in new[] { alice, carol })
        {
            var inbox = (await R.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id;
            for (var i = 0; i < 3; i++)
            {
                var raw = Encoding.UTF8.GetBytes($"From: <x@remote.example>\r\nTo: <{account.Address}>\r\nSubject: Budget {i}\r\nMessage-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\nConfidential {i}\r\n");
                await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(account.Id, inbox)], DateTimeOffset.UtcNow);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        _officersFolder.Dispose();
    }

    /// <summary>Every 32-byte value the operator holds or opens: the master key, the log key, each keystore entry, each verifier's auth value.</summary>
    private async Task<List<(string Source, byte[] Key)>> OperatorKeysAsync()
    {
        var masterKey = KeyFiles.LoadOrCreateMasterKey(TestOptions.MasterKeyFile(_test.DataDirectory), create: false);
        var keys = new List<(string, byte[])> { ("master key", masterKey), ("log key", File.ReadAllBytes(Path.Combine(_test.DataDirectory, DataFolder.LogKeyName))) };
        await using var connection = await SqliteFiles.OpenAsync(_test.DataDirectory, readOnly: true);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, sealed_value FROM keystore";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var name = reader.GetString(0);
                var value = Aead.Open(masterKey, reader.GetFieldValue<byte[]>(1), Encoding.ASCII.GetBytes("sealpost/keystore/v1/" + name));
                for (var offset = 0; offset + 32 <= value.Length && offset < 256; offset += 32)
                {
                    keys.Add(($"keystore '{name}' @{offset}", value[offset..(offset + 32)]));
                }
            }
        }

        foreach (var account in new[] { "alice@example.test", "carol@example.test" })
        {
            var id = (await R.Store.Directory.FindAccountAsync(MailAddress.Parse(account)))!.Id;
            foreach (var credential in await R.Store.Directory.ListCredentialsAsync(id))
            {
                foreach (var part in credential.Verifier.Split('$').Where(p => p.Length >= 40))
                {
                    var bytes = Convert.FromBase64String(part.PadRight(part.Length + ((4 - (part.Length % 4)) % 4), '='));
                    if (bytes.Length >= 32)
                    {
                        keys.Add(($"verifier of {account} credential {credential.Id}", bytes[..32]));
                    }
                }
            }
        }

        return keys;
    }

    [Fact]
    public async Task No_key_the_operator_can_read_or_open_opens_a_message_a_folder_name_or_a_key_wrap()
    {
        var keys = await OperatorKeysAsync();
        Assert.True(keys.Count >= 8, $"only {keys.Count} candidate keys");
        var tried = 0;
        foreach (var address in new[] { "alice@example.test", "carol@example.test" })
        {
            var accountId = (await R.Store.Directory.FindAccountAsync(MailAddress.Parse(address)))!.Id;
            var mailboxes = await R.Store.Mail.ListMailboxesAsync(accountId);
            var credentials = await R.Store.Directory.ListCredentialsAsync(accountId);
            var recoveryWraps = await R.Store.Directory.ListRecoveryWrapsAsync(accountId);
            foreach (var (source, key) in keys)
            {
                foreach (var mailbox in mailboxes)
                {
                    foreach (var message in await R.Store.Mail.ListMessagesAsync(mailbox.Id, UidRange.All))
                    {
                        var version = ContentKeyWrap.Describe(message.WrappedKey).KeyVersion;
                        using var session = AccountSession.FromPrivateKey(accountId, version, key.ToArray());
                        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(session, message));
                        Assert.True(refused.Kind == ErrorKind.Forbidden, $"{source} on a message of {address}: {refused.Kind}");
                        Assert.Null(session.Names.Unseal(accountId, mailbox.SealedName));
                        tried++;
                    }
                }

                foreach (var credential in credentials.Where(c => c.WrappedKey.Length > 0))
                {
                    Assert.Throws<AuthenticationTagMismatchException>(() => Aead.Open(key, credential.WrappedKey, AccountVault.WrapContext(accountId, credential.KeyVersion)));
                    tried++;
                }

                foreach (var wrap in recoveryWraps)
                {
                    Assert.ThrowsAny<CryptographicException>(() => AccountVault.OpenRecoveryWrap(key, wrap));
                    tried++;
                }
            }
        }

        Assert.True(tried >= keys.Count * 6, $"only {tried} attempts for {keys.Count} keys"); // every key on every one of the six messages at least
    }

    [Fact]
    public async Task No_key_the_operator_can_read_or_open_makes_a_key_version_that_mail_is_sealed_to()
    {
        var keys = await OperatorKeysAsync();
        var aliceId = (await R.Store.Directory.FindAccountAsync(MailAddress.Parse("alice@example.test")))!.Id;
        var inbox = (await R.Store.Mail.FindMailboxByRoleAsync(aliceId, MailboxRole.Inbox))!.Id;
        var real = (await R.Store.Directory.ListAccountKeysAsync(aliceId)).Max(k => k.Version);
        var forged = 0;
        for (var i = 0; i < keys.Count; i++)
        {
            // Each key as a requester, the next as the approver; each also as "the previous version".
            using var requester = new PersonalKey(keys[i].Key);
            using var approver = new PersonalKey(keys[(i + 1) % keys.Count].Key);
            foreach (var twoPeople in new[] { true, false })
            {
                var ring = await R.Store.Directory.ListAccountKeysAsync(aliceId);
                var version = ring.Max(k => k.Version) + 1;
                var (privateKey, publicKey) = Sealpost.Crypto.Primitives.Hpke.GenerateKeyPair();
                var signing = KeyVersionProof.SigningPublicKeyOf(aliceId, version, privateKey);
                var proof = twoPeople
                    ? new KeyVersionProof(signing, [KeyTrust.Sign(requester, EndorsementKind.Requester, aliceId, version, publicKey, signing), KeyTrust.Sign(approver, EndorsementKind.Approver, aliceId, version, publicKey, signing)])
                    : new KeyVersionProof(signing, [KeyTrust.Sign(requester, EndorsementKind.PreviousVersion, aliceId, version, publicKey, signing)]);
                await R.Store.Directory.ApplyKeyRingChangeAsync(new Sealpost.Core.Directory.KeyRingChange(aliceId)
                {
                    NewKey = new Sealpost.Core.Directory.AccountKey(aliceId, version, publicKey, proof.Encode(), DateTimeOffset.UtcNow),
                });
                var raw = Encoding.UTF8.GetBytes($"From: <x@remote.example>\r\nTo: <alice@example.test>\r\nSubject: after\r\nMessage-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\nsealed to whom?\r\n");
                var uid = (await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(aliceId, inbox)], DateTimeOffset.UtcNow))[0].Uid;
                var message = (await R.Store.Mail.ListMessagesAsync(inbox, new UidRange(uid, uid))).Single();
                Assert.True(ContentKeyWrap.Describe(message.WrappedKey).KeyVersion == real, $"{keys[i].Source} made version {version} that mail was sealed to");
                forged++;
            }
        }

        Assert.True(forged >= 16, $"only {forged} forged versions tried");
        Assert.Contains("Security: key version", _test.Logs.ToString());
    }
}
