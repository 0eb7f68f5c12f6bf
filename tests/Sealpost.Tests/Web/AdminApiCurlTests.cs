using System.Text.Json;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>curl over TLS, as an administrator's script would use the API: a cookie jar, then a bearer token.</summary>
public sealed class AdminApiCurlTests
{
    [Fact]
    public async Task Curl_signs_in_keeps_the_session_cookie_and_uses_a_token()
    {
        await using var server = await TestServer.StartAsync();
        using var folder = new TempFolder();
        var jar = Path.Combine(folder.Path, "cookies.txt");
        var url = server.Https.ToString().TrimEnd('/');
        var common = new[] { "--silent", "--show-error", "--max-time", "10", "--cacert", server.DevCertificateFile };

        var (exit, signIn) = await Tools.RunAsync("curl", [.. common, "--cookie-jar", jar, "-H", "content-type: application/json",
            "--data", "{\"address\":\"alice@example.test\",\"password\":\"alice-dev-password\"}", url + "/api/v1/sign-in"]);
        Assert.True(exit == 0, signIn);
        Assert.Contains("__Host-sealpost", await File.ReadAllTextAsync(jar));

        (exit, var me) = await Tools.RunAsync("curl", [.. common, "--cookie", jar, url + "/api/v1/me"]);
        Assert.True(exit == 0, me);
        Assert.Equal("alice@example.test", JsonDocument.Parse(me).RootElement.GetProperty("address").GetString());

        var token = JsonDocument.Parse(signIn).RootElement.GetProperty("token").GetString()!;
        (exit, var made) = await Tools.RunAsync("curl", [.. common, "-H", "Authorization: Bearer " + token, "-H", "content-type: application/json",
            "--data", "{\"label\":\"phone\",\"password\":\"alice-dev-password\"}", url + "/api/v1/me/app-passwords"]);
        Assert.True(exit == 0, made);
        Assert.Equal("phone", JsonDocument.Parse(made).RootElement.GetProperty("label").GetString());

        (exit, var refused) = await Tools.RunAsync("curl", [.. common, "--write-out", "\n%{http_code} %{content_type}", url + "/api/v1/accounts"]);
        Assert.Equal(0, exit);
        Assert.EndsWith("401 application/problem+json", refused.TrimEnd());
    }
}
