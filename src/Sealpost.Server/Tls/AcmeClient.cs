using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sealpost.Core;

namespace Sealpost.Server.Tls;

/// <summary>
/// An ACME client (RFC 8555) for the http-01 challenge: account, order, authorisations, finalise,
/// download. Requests are JWS-signed with the account's P-256 key (ES256, RFC 7518 §3.4); a
/// <c>badNonce</c> answer is retried with the fresh nonce the server sent (RFC 8555 §6.5).
/// </summary>
public sealed class AcmeClient : IDisposable
{
    private const string JoseJson = "application/jose+json";
    private readonly HttpClient _http;
    private readonly Uri _directoryUrl;
    private readonly ECDsa _accountKey;
    private JsonObject? _directory;
    private string? _nonce;

    /// <param name="accountKey">The account's key (the caller keeps it sealed and disposes it).</param>
    /// <param name="trustedCa">PEM of a CA that signs the ACME server's HTTPS certificate (a private CA); null: the system's roots.</param>
    /// <param name="resolve">Names to addresses: the server's configured DNS (Smtp:DnsServers), as for mail peers.</param>
    public AcmeClient(Uri directoryUrl, ECDsa accountKey, string? trustedCa, TimeSpan timeout, Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>> resolve)
    {
        _directoryUrl = directoryUrl;
        _accountKey = accountKey;
        X509Certificate2Collection? roots = null;
        if (trustedCa is not null)
        {
            roots = new X509Certificate2Collection();
            roots.ImportFromPem(trustedCa);
        }

        // Through the one egress connector, as every connection the server makes to the outside.
        _http = new Sealpost.Delivery.EgressConnector().CreateHttpClient(
            resolve,
            (_, certificate, errors) => Trusted(certificate, errors, roots),
            timeout);
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Sealpost-ACME/1");
    }

    /// <summary>The system's verdict, or with a private CA: only the chain to it may fail the system's check.</summary>
    private static bool Trusted(X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors, X509Certificate2Collection? roots)
    {
        if (roots is null)
        {
            return errors == System.Net.Security.SslPolicyErrors.None;
        }

        if (certificate is null || (errors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    }

    /// <summary>The account URL (the JWS "kid") once <see cref="EnsureAccountAsync"/> ran.</summary>
    public string? AccountUrl { get; private set; }

    /// <summary>The key authorisation suffix: the base64url SHA-256 of the account key's JWK thumbprint input (RFC 7638).</summary>
    public string Thumbprint => Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(JwkThumbprintInput(_accountKey))));

    /// <summary>Finds or creates the account for the key (newAccount answers 200 with the existing one).</summary>
    public async Task<string> EnsureAccountAsync(string? email, CancellationToken ct)
    {
        var payload = new JsonObject { ["termsOfServiceAgreed"] = true };
        if (!string.IsNullOrEmpty(email))
        {
            payload["contact"] = new JsonArray("mailto:" + email);
        }

        var response = await PostAsync(await EndpointAsync("newAccount", ct), payload, useJwk: true, ct);
        AccountUrl = response.Location ?? throw Protocol("newAccount answered without a Location");
        return AccountUrl;
    }

    /// <summary>
    /// Orders a certificate for <paramref name="hosts"/>, answering each http-01 challenge through
    /// <paramref name="publish"/> (token, key authorisation) and <paramref name="withdraw"/>; returns the PEM chain.
    /// </summary>
    public async Task<string> OrderAsync(IReadOnlyList<string> hosts, byte[] csrDer, Func<string, string, Task> publish, Func<string, Task> withdraw, CancellationToken ct)
    {
        if (AccountUrl is null)
        {
            throw new InvalidOperationException("EnsureAccountAsync first");
        }

        var identifiers = new JsonArray(hosts.Select(h => (JsonNode)new JsonObject { ["type"] = "dns", ["value"] = h }).ToArray());
        var created = await PostAsync(await EndpointAsync("newOrder", ct), new JsonObject { ["identifiers"] = identifiers }, useJwk: false, ct);
        var orderUrl = created.Location ?? throw Protocol("newOrder answered without a Location");
        var order = created.Body;
        var published = new List<string>();
        try
        {
            foreach (var authorization in order["authorizations"]?.AsArray() ?? [])
            {
                var url = authorization!.GetValue<string>();
                var authz = (await PostAsGetAsync(url, ct)).Body;
                if (Status(authz) == "valid")
                {
                    continue; // reused from an earlier order (RFC 8555 §7.1.4)
                }

                var challenge = authz["challenges"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == "http-01")
                    ?? throw Protocol($"no http-01 challenge offered for {authz["identifier"]?["value"]}");
                var token = challenge["token"]!.GetValue<string>();
                if (token.Length == 0 || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                {
                    throw Protocol("the challenge token is not base64url");
                }

                await publish(token, token + "." + Thumbprint);
                published.Add(token);
                await PostAsync(challenge["url"]!.GetValue<string>(), new JsonObject(), useJwk: false, ct);
                authz = await PollAsync(url, s => s is "valid" or "invalid" or "deactivated" or "expired" or "revoked", ct);
                if (Status(authz) != "valid")
                {
                    var error = authz["challenges"]?.AsArray().Select(c => c?["error"]?["detail"]?.GetValue<string>()).FirstOrDefault(d => d is not null);
                    throw new SealpostException(ErrorKind.InvalidInput, $"the CA did not validate {authz["identifier"]?["value"]}: {error ?? Status(authz)}");
                }
            }
        }
        finally
        {
            foreach (var token in published)
            {
                await withdraw(token);
            }
        }

        order = await PollAsync(orderUrl, s => s is "ready" or "valid" or "invalid", ct);
        if (Status(order) == "ready")
        {
            await PostAsync(order["finalize"]!.GetValue<string>(), new JsonObject { ["csr"] = Base64Url(csrDer) }, useJwk: false, ct);
            order = await PollAsync(orderUrl, s => s is "valid" or "invalid", ct);
        }

        if (Status(order) != "valid" || order["certificate"]?.GetValue<string>() is not { } certificateUrl)
        {
            throw new SealpostException(ErrorKind.InvalidInput, $"the order ended {Status(order)}: {order["error"]?["detail"]?.GetValue<string>() ?? "no detail"}");
        }

        var chain = await PostAsGetRawAsync(certificateUrl, ct);
        if (!chain.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            throw Protocol("the certificate download is not a PEM chain");
        }

        return chain;
    }

    /// <summary>A PKCS#10 request for <paramref name="hosts"/> (first one the subject) signed by <paramref name="key"/>.</summary>
    public static byte[] CertificateRequestFor(IReadOnlyList<string> hosts, ECDsa key)
    {
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + hosts[0]), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts)
        {
            san.AddDnsName(host);
        }

        request.CertificateExtensions.Add(san.Build());
        return request.CreateSigningRequest();
    }

    /// <summary>RFC 7638 §3.2: the required members in lexicographic order, no whitespace.</summary>
    public static string JwkThumbprintInput(ECDsa key)
    {
        var p = key.ExportParameters(false);
        return $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{Base64Url(p.Q.X!)}\",\"y\":\"{Base64Url(p.Q.Y!)}\"}}";
    }

    public static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Status(JsonNode node) => node["status"]?.GetValue<string>() ?? "";

    private static SealpostException Protocol(string what) => new(ErrorKind.TemporarilyUnavailable, "ACME: " + what);

    private async Task<JsonNode> PollAsync(string url, Func<string, bool> done, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var (body, _, retryAfter) = await PostAsGetAsync(url, ct);
            if (done(Status(body)))
            {
                return body;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw Protocol($"still '{Status(body)}' after two minutes");
            }

            // The server's Retry-After (RFC 8555 §7.5.1), bounded; half a second when it gives none.
            await Task.Delay(retryAfter is { } wait ? TimeSpan.FromSeconds(Math.Clamp(wait.TotalSeconds, 0.2, 10)) : TimeSpan.FromMilliseconds(500), ct);
        }
    }

    private async Task<string> EndpointAsync(string name, CancellationToken ct)
    {
        if (_directory is null)
        {
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, _directoryUrl), ct);
            if (!response.IsSuccessStatusCode)
            {
                throw Protocol($"the directory answered HTTP {(int)response.StatusCode}");
            }

            _directory = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?.AsObject() ?? throw Protocol("the directory is not a JSON object");
        }

        return _directory[name]?.GetValue<string>() ?? throw Protocol($"the directory has no '{name}'");
    }

    private async Task<string> NonceAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _nonce, null) is { } saved)
        {
            return saved;
        }

        var url = await EndpointAsync("newNonce", ct);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, url), ct);
        return response.Headers.TryGetValues("Replay-Nonce", out var values) ? values.First() : throw Protocol("newNonce gave no Replay-Nonce");
    }

    private async Task<(JsonNode Body, string? Location, TimeSpan? RetryAfter)> PostAsGetAsync(string url, CancellationToken ct)
    {
        var (text, location, retryAfter) = await PostCoreAsync(url, null, useJwk: false, ct);
        return (JsonNode.Parse(text) ?? throw Protocol("an empty answer"), location, retryAfter);
    }

    private async Task<string> PostAsGetRawAsync(string url, CancellationToken ct) => (await PostCoreAsync(url, null, useJwk: false, ct)).Text;

    private async Task<(JsonNode Body, string? Location)> PostAsync(string url, JsonObject payload, bool useJwk, CancellationToken ct)
    {
        var (text, location, _) = await PostCoreAsync(url, payload, useJwk, ct);
        return (text.Length == 0 ? new JsonObject() : JsonNode.Parse(text) ?? new JsonObject(), location);
    }

    /// <summary>One signed POST (POST-as-GET when <paramref name="payload"/> is null: the empty payload, RFC 8555 §6.3).</summary>
    private async Task<(string Text, string? Location, TimeSpan? RetryAfter)> PostCoreAsync(string url, JsonObject? payload, bool useJwk, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var body = Sign(url, await NonceAsync(ct), payload, useJwk);
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(JoseJson)),
            }, ct);
            if (response.Headers.TryGetValues("Replay-Nonce", out var nonces))
            {
                _nonce = nonces.First();
            }

            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                var problem = TryParse(text);
                var type = problem?["type"]?.GetValue<string>() ?? "";
                if (type == "urn:ietf:params:acme:error:badNonce" && attempt < 5)
                {
                    continue;
                }

                var detail = problem?["detail"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}";
                var kind = (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests ? ErrorKind.TemporarilyUnavailable : ErrorKind.InvalidInput;
                throw new SealpostException(kind, $"ACME: {(type.Length > 0 ? type[(type.LastIndexOf(':') + 1)..] + ": " : "")}{detail}");
            }

            TimeSpan? retryAfter = response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            return (text, response.Headers.Location?.ToString(), retryAfter);
        }
    }

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, CancellationToken ct)
    {
        try
        {
            using var message = request();
            return await _http.SendAsync(message, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"ACME: cannot reach {_directoryUrl.Authority}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"ACME: {_directoryUrl.Authority} did not answer in time", ex);
        }
    }

    /// <summary>The flattened JWS JSON serialisation (RFC 7515 §7.2.2) RFC 8555 §6.2 asks for.</summary>
    private string Sign(string url, string nonce, JsonObject? payload, bool useJwk)
    {
        var header = new JsonObject { ["alg"] = "ES256", ["nonce"] = nonce, ["url"] = url };
        if (useJwk)
        {
            header["jwk"] = JsonNode.Parse(JwkThumbprintInput(_accountKey));
        }
        else
        {
            header["kid"] = AccountUrl;
        }

        var protectedPart = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString()));
        var payloadPart = payload is null ? "" : Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        // ES256 signatures are r||s, 64 octets: .NET's default IEEE P1363 format.
        var signature = _accountKey.SignData(Encoding.ASCII.GetBytes(protectedPart + "." + payloadPart), HashAlgorithmName.SHA256);
        return new JsonObject { ["protected"] = protectedPart, ["payload"] = payloadPart, ["signature"] = Base64Url(signature) }.ToJsonString();
    }

    public void Dispose() => _http.Dispose();
}
