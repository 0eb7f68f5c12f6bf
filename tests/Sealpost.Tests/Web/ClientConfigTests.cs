using System.Net;
using System.Text;
using System.Xml.Linq;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// Client auto-configuration over real HTTPS: Thunderbird's autoconfig at both places it looks (the
/// well-known path with the address, and autoconfig.DOMAIN), Outlook's Autodiscover POX, and nothing
/// for a domain not hosted here or for a request that is not one.
/// </summary>
public sealed class ClientConfigTests : IAsyncLifetime
{
    private static readonly XNamespace Outlook = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    private TestServer _server = null!;
    private HttpClient _http = null!;

    private string Host => _server.Server.Runtime.Options.Hostname;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        _http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true }) { BaseAddress = _server.Https };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static void AssertThunderbird(XDocument config, string host)
    {
        var provider = config.Root!.Element("emailProvider")!;
        Assert.Equal("example.test", provider.Element("domain")!.Value);
        var imap = provider.Elements("incomingServer").First();
        Assert.Equal(("imap", host, "993", "SSL", "%EMAILADDRESS%"), ((string)imap.Attribute("type")!, imap.Element("hostname")!.Value, imap.Element("port")!.Value, imap.Element("socketType")!.Value, imap.Element("username")!.Value));
        var smtp = provider.Elements("outgoingServer").First();
        Assert.Equal(("smtp", "465", "SSL"), ((string)smtp.Attribute("type")!, smtp.Element("port")!.Value, smtp.Element("socketType")!.Value));
    }

    [Fact]
    public async Task Thunderbird_gets_the_settings_at_the_well_known_path_with_the_address()
    {
        using var response = await _http.GetAsync("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertThunderbird(XDocument.Parse(await response.Content.ReadAsStringAsync()), Host);
    }

    [Fact]
    public async Task Thunderbird_gets_the_settings_from_autoconfig_dot_the_domain()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/mail/config-v1.1.xml");
        request.Headers.Host = "autoconfig.example.test";
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertThunderbird(XDocument.Parse(await response.Content.ReadAsStringAsync()), Host);
    }

    [Fact]
    public async Task A_domain_not_hosted_here_has_no_autoconfig()
    {
        using var response = await _http.GetAsync("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=someone%40elsewhere.test");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<XDocument> AutodiscoverAsync(string body)
    {
        using var response = await _http.PostAsync("/Autodiscover/Autodiscover.xml", new StringContent(body, Encoding.UTF8, "text/xml"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return XDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static string Request(string address) =>
        $"""<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>{address}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>""";

    [Fact]
    public async Task Outlook_gets_imap_and_smtp_over_implicit_tls_from_autodiscover()
    {
        var answer = await AutodiscoverAsync(Request("alice@example.test"));
        var protocols = answer.Descendants(Outlook + "Protocol").ToDictionary(p => p.Element(Outlook + "Type")!.Value);
        Assert.Equal((Host, "993", "alice@example.test", "on"), (protocols["IMAP"].Element(Outlook + "Server")!.Value, protocols["IMAP"].Element(Outlook + "Port")!.Value, protocols["IMAP"].Element(Outlook + "LoginName")!.Value, protocols["IMAP"].Element(Outlook + "SSL")!.Value));
        Assert.Equal("465", protocols["SMTP"].Element(Outlook + "Port")!.Value);
    }

    public static TheoryData<string, string> NotAnswered() => new()
    {
        { "a domain not hosted here", Request("someone@elsewhere.test") },
        { "not XML", "this is not xml <" },
        { "XML without an address", "<Autodiscover/>" },
        { "a body larger than a request", Request(new string('a', 20_000) + "@example.test") },
    };

    [Theory]
    [MemberData(nameof(NotAnswered))]
    public async Task Autodiscover_answers_anything_else_with_an_error_document(string _, string body)
    {
        var answer = await AutodiscoverAsync(body);
        Assert.Equal("600", answer.Descendants().Single(e => e.Name.LocalName == "ErrorCode").Value);
        Assert.Empty(answer.Descendants(Outlook + "Protocol"));
    }
}
