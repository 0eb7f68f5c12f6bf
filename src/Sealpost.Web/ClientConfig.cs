using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;

namespace Sealpost.Web;

/// <summary>
/// What mail clients fetch to set themselves up from an address and a password: Thunderbird's
/// autoconfig document, Outlook's Autodiscover (POX) answer, and the signing of Apple configuration
/// profiles with the server's certificate. IMAP on 993 and submission on 465 with implicit TLS
/// (RFC 8314), STARTTLS on 143 and 587 as alternatives; the full address is the user name.
/// </summary>
public static class ClientConfig
{
    private static readonly XNamespace AutodiscoverRequest = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
    private static readonly XNamespace AutodiscoverResponse = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
    private static readonly XNamespace OutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

    /// <summary>Mozilla's clientConfig 1.1 for a domain hosted on <paramref name="hostname"/>.</summary>
    public static string Thunderbird(string domain, string hostname)
    {
        static XElement Server(string element, string type, string host, int port, string socket) =>
            new(element, new XAttribute("type", type),
                new XElement("hostname", host), new XElement("port", port), new XElement("socketType", socket),
                new XElement("authentication", "password-cleartext"), new XElement("username", "%EMAILADDRESS%"));
        var document = new XDocument(new XDeclaration("1.0", "UTF-8", null),
            new XElement("clientConfig", new XAttribute("version", "1.1"),
                new XElement("emailProvider", new XAttribute("id", domain),
                    new XElement("domain", domain),
                    new XElement("displayName", $"Sealpost ({domain})"),
                    new XElement("displayShortName", domain),
                    Server("incomingServer", "imap", hostname, 993, "SSL"),
                    Server("incomingServer", "imap", hostname, 143, "STARTTLS"),
                    Server("outgoingServer", "smtp", hostname, 465, "SSL"),
                    Server("outgoingServer", "smtp", hostname, 587, "STARTTLS"))));
        return document.Declaration + "\n" + document.Root;
    }

    /// <summary>The address an Autodiscover POX request asks about, or null if the body is not one.</summary>
    public static string? AutodiscoverAddress(string body)
    {
        try
        {
            var document = XDocument.Parse(body);
            return document.Descendants(AutodiscoverRequest + "EMailAddress").FirstOrDefault()?.Value.Trim();
        }
        catch (System.Xml.XmlException)
        {
            return null;
        }
    }

    /// <summary>Outlook's Autodiscover answer (the "settings" action) with IMAP and SMTP over implicit TLS.</summary>
    public static string Autodiscover(string address, string hostname)
    {
        XElement Protocol(string type, int port) => new(OutlookResponse + "Protocol",
            new XElement(OutlookResponse + "Type", type),
            new XElement(OutlookResponse + "Server", hostname),
            new XElement(OutlookResponse + "Port", port),
            new XElement(OutlookResponse + "LoginName", address),
            new XElement(OutlookResponse + "DomainRequired", "off"),
            new XElement(OutlookResponse + "SPA", "off"),
            new XElement(OutlookResponse + "SSL", "on"),
            new XElement(OutlookResponse + "Encryption", "SSL"),
            new XElement(OutlookResponse + "AuthRequired", "on"));
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null),
            new XElement(AutodiscoverResponse + "Autodiscover",
                new XElement(OutlookResponse + "Response",
                    new XElement(OutlookResponse + "Account",
                        new XElement(OutlookResponse + "AccountType", "email"),
                        new XElement(OutlookResponse + "Action", "settings"),
                        Protocol("IMAP", 993),
                        Protocol("SMTP", 465)))));
        return document.Declaration + "\n" + document.Root;
    }

    /// <summary>An Autodiscover error answer (600: invalid request), as Outlook expects one.</summary>
    public static string AutodiscoverError(string message) =>
        new XDocument(new XElement(AutodiscoverResponse + "Autodiscover",
            new XElement(AutodiscoverResponse + "Response",
                new XElement(AutodiscoverResponse + "Error", new XAttribute("Time", DateTime.UtcNow.ToString("HH:mm:ss.fffffff", System.Globalization.CultureInfo.InvariantCulture)),
                    new XElement(AutodiscoverResponse + "ErrorCode", 600),
                    new XElement(AutodiscoverResponse + "Message", message))))).ToString();

    /// <summary>
    /// A configuration profile signed with the server's certificate (CMS SignedData, the content
    /// attached, the chain's leaf included), so a device shows who it comes from and refuses a changed one.
    /// </summary>
    public static byte[] Sign(byte[] profile, X509Certificate2 certificate)
    {
        var cms = new SignedCms(new ContentInfo(profile), detached: false);
        cms.ComputeSignature(new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, certificate) { IncludeOption = X509IncludeOption.EndCertOnly });
        return cms.Encode();
    }
}
