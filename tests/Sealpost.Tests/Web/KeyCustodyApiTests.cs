using System.Net;
using System.Text.Json;
using Sealpost.Core.Access;
using Sealpost.Crypto.Vault;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// Key custody over the admin API, on a server whose trust anchor the officers made: key versions with
/// their state, endorsements signed on the signer's machine and handed in, the anchor for auditors.
/// </summary>
public sealed class KeyCustodyApiTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestServer _server = null!;
    private ApiClient _api = null!;
    private string _admin = null!;

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-officers");
        _officers = TestOfficers.Create(_keys.Path);
        _server = await TestServer.StartAsync(officers: _officers);
        _api = new ApiClient(_server);
        (_admin, _, _) = await _api.AdministratorAsync("pa@example.test", "key-custody-admin-passphrase", Role.PlatformAdmin);
        await _api.JsonAsync(HttpMethod.Post, "/api/v1/accounts", new { address = Carol, enrol = true }, _admin, HttpStatusCode.Created);
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
        _keys.Dispose();
    }

    private async Task<JsonElement> CarolsVersionAsync() =>
        (await _api.JsonAsync(HttpMethod.Get, "/api/v1/key-versions?account=" + Carol, token: _admin)).GetProperty("items").EnumerateArray().Single();

    /// <summary>What 'sealpost keys endorse' does on the signer's machine: sign the listed version with the personal key file.</summary>
    private async Task<object> SignedAsync(string keyFile, string role)
    {
        var v = await CarolsVersionAsync();
        using var person = PersonalKey.Load(keyFile);
        var kind = role == "approver" ? EndorsementKind.Approver : EndorsementKind.Requester;
        var endorsement = KeyTrust.Sign(person, kind, v.GetProperty("accountId").GetInt64(), v.GetProperty("version").GetInt32(),
            Convert.FromBase64String(v.GetProperty("publicKey").GetString()!), Convert.FromBase64String(v.GetProperty("signingPublicKey").GetString()!));
        return new { role, publicKey = Convert.ToBase64String(endorsement.SignerPublicKey), signature = Convert.ToBase64String(endorsement.Signature) };
    }

    private Task<HttpResponseMessage> EndorseAsync(object body) => _api.SendAsync(HttpMethod.Post, $"/api/v1/key-versions/{Carol}/1/endorsements", body, _admin);

    [Fact]
    public async Task A_new_account_is_listed_as_pending_with_its_fingerprint()
    {
        var v = await CarolsVersionAsync();
        Assert.Equal("pending", v.GetProperty("state").GetString());
        Assert.StartsWith("sha256:", v.GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task A_request_and_an_approval_handed_in_endorse_the_version()
    {
        using (var requested = await EndorseAsync(await SignedAsync(_officers.DanKey, "requester")))
        {
            Assert.Equal(HttpStatusCode.OK, requested.StatusCode);
        }

        var approved = await _api.JsonAsync(HttpMethod.Post, $"/api/v1/key-versions/{Carol}/1/endorsements", await SignedAsync(_officers.ErinKey, "approver"), _admin);
        Assert.Equal("endorsed", approved.GetProperty("state").GetString());
        Assert.Equal("requested by Dan, approved by Erin", approved.GetProperty("reason").GetString());
        Assert.DoesNotContain(Carol, (await _api.JsonAsync(HttpMethod.Get, "/api/v1/key-versions?pending=true", token: _admin)).GetProperty("items").EnumerateArray()
            .Select(i => i.GetProperty("address").GetString()));
    }

    [Fact]
    public async Task An_administrators_approval_is_refused_with_403()
    {
        using var refused = await EndorseAsync(await SignedAsync(_officers.DanKey, "approver"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("only officers approve", await refused.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"role\":\"boss\",\"publicKey\":\"AAAA\",\"signature\":\"AAAA\"}", "role")]
    [InlineData("{\"role\":\"requester\",\"publicKey\":\"not base64!\",\"signature\":\"AAAA\"}", "publicKey")]
    [InlineData("{\"role\":\"requester\",\"publicKey\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"signature\":\"AAAA\"}", "signature")]
    public async Task A_malformed_endorsement_names_its_field(string body, string field)
    {
        using var response = await _api.SendAsync(HttpMethod.Post, $"/api/v1/key-versions/{Carol}/1/endorsements", token: _admin, rawBody: body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task The_anchor_in_force_is_served_with_its_fingerprint()
    {
        var chain = await _api.JsonAsync(HttpMethod.Get, "/api/v1/trust-anchor", token: _admin);
        var anchor = chain.EnumerateArray().Single();
        Assert.Equal(_officers.Anchor.Fingerprint, anchor.GetProperty("fingerprint").GetString());
        Assert.Equal(["Alice", "Bob", "Erin", "Dan"], anchor.GetProperty("people").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
    }
}
