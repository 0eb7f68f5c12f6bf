using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OtpNet;
using Sealpost.Core.Access;
using Sealpost.Server;

namespace Sealpost.Tests.Support;

/// <summary>HttpClient over TLS against a test server's admin API, trusting exactly its dev certificate.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(TestServer server)
    {
        Server = server;
        var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(server.DevCertificateFile));
        // No cookie jar: each request carries exactly the credentials the test gives it.
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseCookies = false,
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString(),
            },
        })
        { BaseAddress = server.Https, Timeout = TimeSpan.FromSeconds(30) };
    }

    public TestServer Server { get; }

    /// <summary>The TOTP code the last <see cref="AdministratorAsync"/> signed in with.</summary>
    public string? LastCode { get; private set; }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? token = null, string? ifMatch = null, string? rawBody = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (rawBody is not null)
        {
            request.Content = new StringContent(rawBody, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: new JsonSerializerOptions(JsonSerializerDefaults.Web));
        }

        return await _http.SendAsync(request);
    }

    public async Task<JsonElement> JsonAsync(HttpMethod method, string path, object? body = null, string? token = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await SendAsync(method, path, body, token);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> SignInAsync(string address, string password, string? code = null)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/v1/sign-in", new { address, password, code });
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>A TOTP code for the step after the current one: accepted once (RFC 6238 window of one step), without waiting.</summary>
    public static string NextCode(string base32Secret, int stepsAhead = 1) =>
        new Totp(Base32Encoding.ToBytes(base32Secret)).ComputeTotp(DateTime.UtcNow.AddSeconds(30 * stepsAhead));

    public static string CurrentCode(string base32Secret) => new Totp(Base32Encoding.ToBytes(base32Secret)).ComputeTotp(DateTime.UtcNow);

    /// <summary>
    /// An administrator as a real one becomes one: the account made (offline, as bootstrap does), its
    /// roles granted, a password-only sign-in that may only enrol, TOTP enrolled and confirmed over the
    /// API, then a sign-in with password and code. Returns the full session token and the TOTP secret.
    /// </summary>
    public Task<(string Token, string Secret, string[] RecoveryCodes)> AdministratorAsync(string address, string password, params Role[] roles) =>
        AdministratorAsync(address, password, 0, 1, roles);

    /// <summary>
    /// As above, with the TOTP steps the enrolment and the sign-in take relative to now (each inside the
    /// one-step window, the sign-in's later than the enrolment's): -1 and 0 leave the next step free for
    /// a re-authentication.
    /// </summary>
    public async Task<(string Token, string Secret, string[] RecoveryCodes)> AdministratorAsync(string address, string password, int enrolStepsAhead, int signInStepsAhead, params Role[] roles)
    {
        var directory = Server.Server.Runtime.Directory;
        await directory.AddUserAsync(SealpostRuntime.LocalAdministrator, address, password, null, 0);
        foreach (var role in roles)
        {
            await directory.GrantRoleAsync(SealpostRuntime.LocalAdministrator, address, role);
        }

        var (status, body) = await SignInAsync(address, password);
        Assert.Equal(HttpStatusCode.OK, status);
        var restricted = body.GetProperty("token").GetString()!;
        var (secret, codes) = await EnrolAsync(restricted, enrolStepsAhead);
        LastCode = NextCode(secret, signInStepsAhead);
        var (full, signedIn) = await SignInAsync(address, password, LastCode);
        Assert.True(full == HttpStatusCode.OK, signedIn.ToString());
        Assert.True(signedIn.GetProperty("secondFactorPassed").GetBoolean());
        return (signedIn.GetProperty("token").GetString()!, secret, codes);
    }

    /// <summary>Enrols TOTP with the session <paramref name="token"/>: the secret and the recovery codes.</summary>
    public async Task<(string Secret, string[] RecoveryCodes)> EnrolAsync(string token, int stepsAhead = 0)
    {
        var enrolment = await JsonAsync(HttpMethod.Post, "/api/v1/me/totp", token: token);
        var secret = enrolment.GetProperty("secret").GetString()!;
        var confirmed = await JsonAsync(HttpMethod.Post, "/api/v1/me/totp/confirm", new { code = NextCode(secret, stepsAhead) }, token);
        return (secret, confirmed.GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!).ToArray());
    }

    /// <summary>A plain user (role user only): signed in with the password.</summary>
    public async Task<string> UserAsync(string address, string password)
    {
        await Server.Server.Runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, address, password, null, 0);
        var (status, body) = await SignInAsync(address, password);
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("token").GetString()!;
    }

    public void Dispose() => _http.Dispose();
}
