using System.Text;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Crypto.Vault;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// Whoever saw an enrolment token can read what was delivered before it was redeemed, and nothing
/// delivered after: every key the token opens, in a copy of the data folder taken before redemption,
/// is tried on the mail that came afterwards.
/// </summary>
public sealed class EnrolmentTokenTests : IAsyncLifetime
{
    private TestRuntime _test = null!;

    private SealpostRuntime R => _test.Runtime;

    public async Task InitializeAsync() => _test = await TestRuntime.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private static byte[] Message(string subject) => RawMessages.Plain("carol@example.test", subject);

    private static Actor Client => Actor.Anonymous("api", "192.0.2.7", "carol@example.test");

    [Fact]
    public async Task The_tokens_holder_with_a_copy_from_before_redemption_opens_nothing_delivered_after()
    {
        var (carol, token, _) = await R.Directory.AddUserForEnrolmentAsync(SealpostRuntime.LocalAdministrator, "carol@example.test", null, 0);
        var inbox = (await R.Store.Mail.FindMailboxByRoleAsync(carol.Id, MailboxRole.Inbox))!.Id;
        await R.Delivery.DeliverAsync(Message("Before enrolment"), [new DeliveryTarget(carol.Id, inbox)], DateTimeOffset.UtcNow);
        var copy = DataFolders.CopyWithMasterKey(_test, "copy-before-redemption");

        await R.Directory.RedeemEnrolmentAsync(Client, "carol@example.test", token, "carol's very own passphrase");
        await R.Delivery.DeliverAsync(Message("After enrolment"), [new DeliveryTarget(carol.Id, inbox)], DateTimeOffset.UtcNow);

        // Every key the token opens in the copy: the private key of each token wrap there.
        await using var old = await SealpostRuntime.OpenAsync(TestOptions.For(copy), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var wraps = (await old.Store.Directory.ListCredentialsAsync(carol.Id)).Where(c => c.Kind == CredentialKind.EnrolmentToken).ToList();
        Assert.NotEmpty(wraps);
        foreach (var wrap in wraps)
        {
            using var keys = CredentialKdf.VerifyEnrolmentToken(token, wrap.Verifier)!;
            var privateKey = AccountVault.OpenEnrolmentWrap(wrap, keys)!;
            using var holder = AccountSession.FromPrivateKey(carol.Id, wrap.KeyVersion, privateKey);

            using (var before = await old.Reader.OpenAsync(holder, (await old.Store.Mail.GetMessageAsync(inbox, 1))!))
            {
                Assert.Contains("Before enrolment", Encoding.UTF8.GetString(await before.ReadAllAsync()));
            }

            foreach (var uid in new uint[] { 1, 2 })
            {
                var now = (await R.Store.Mail.GetMessageAsync(inbox, uid))!;
                Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(holder, now))).Kind);
            }
        }

        // And the live server takes the token no more.
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SealpostException>(() => R.Directory.RedeemEnrolmentAsync(Client, "carol@example.test", token, "the holder's own passphrase"))).Kind);
    }

    [Fact]
    public async Task Redemption_leaves_no_token_wrap_and_a_spent_record_of_when_and_where()
    {
        var (carol, token, _) = await R.Directory.AddUserForEnrolmentAsync(SealpostRuntime.LocalAdministrator, "carol@example.test", null, 0);
        var live = Assert.Single(await R.Store.Directory.ListCredentialsAsync(carol.Id));
        Assert.Equal(CredentialKind.EnrolmentToken, live.Kind);

        await R.Directory.RedeemEnrolmentAsync(Client, "carol@example.test", token, "carol's very own passphrase");

        var after = await R.Store.Directory.ListCredentialsAsync(carol.Id);
        Assert.Equal([CredentialKind.Password, CredentialKind.EnrolmentRedeemed], after.Select(c => c.Kind).Order().ToArray());
        Assert.Empty(after.Single(c => c.Kind == CredentialKind.EnrolmentRedeemed).WrappedKey);
        Assert.Equal(2, after.Single(c => c.Kind == CredentialKind.Password).KeyVersion);
        var record = await R.Directory.GetEnrolmentAsync(SealpostRuntime.LocalAdministrator, "carol@example.test");
        Assert.Equal("192.0.2.7", record!.From);
        var files = Directory.EnumerateFiles(_test.DataDirectory, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(".lock", StringComparison.Ordinal) && !p.EndsWith(".sock", StringComparison.Ordinal));
        Assert.DoesNotContain(files, p => File.ReadAllBytes(p).AsSpan().IndexOf(live.WrappedKey) >= 0);
    }
}
