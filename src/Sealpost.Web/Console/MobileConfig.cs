using System.Xml.Linq;

namespace Sealpost.Web.Console;

/// <summary>
/// An Apple configuration profile (.mobileconfig) with one mail account: IMAP over implicit TLS on 993
/// and submission over implicit TLS on 465 (RFC 8314), the address as user name, and an app password
/// made for the device. It is unsigned and holds the app password: it is given once, to its owner, and
/// revoking the app password disables it.
/// </summary>
public static class MobileConfig
{
    public static byte[] For(string address, string displayName, string hostname, string appPassword, string label)
    {
        static XElement Key(string name) => new("key", name);
        static XElement Str(string value) => new("string", value);
        static XElement Int(int value) => new("integer", value);
        static XElement Bool(bool value) => new(value ? "true" : "false");
        var account = new XElement("dict",
            Key("EmailAccountDescription"), Str(address),
            Key("EmailAccountName"), Str(displayName),
            Key("EmailAccountType"), Str("EmailTypeIMAP"),
            Key("EmailAddress"), Str(address),
            Key("IncomingMailServerAuthentication"), Str("EmailAuthPassword"),
            Key("IncomingMailServerHostName"), Str(hostname),
            Key("IncomingMailServerPortNumber"), Int(993),
            Key("IncomingMailServerUseSSL"), Bool(true),
            Key("IncomingMailServerUsername"), Str(address),
            Key("IncomingPassword"), Str(appPassword),
            Key("OutgoingMailServerAuthentication"), Str("EmailAuthPassword"),
            Key("OutgoingMailServerHostName"), Str(hostname),
            Key("OutgoingMailServerPortNumber"), Int(465),
            Key("OutgoingMailServerUseSSL"), Bool(true),
            Key("OutgoingMailServerUsername"), Str(address),
            Key("OutgoingPasswordSameAsIncomingPassword"), Bool(true),
            Key("PayloadDisplayName"), Str(label),
            Key("PayloadIdentifier"), Str($"sealpost.{hostname}.mail.{Guid.NewGuid():N}"),
            Key("PayloadType"), Str("com.apple.mail.managed"),
            Key("PayloadUUID"), Str(Guid.NewGuid().ToString().ToUpperInvariant()),
            Key("PayloadVersion"), Int(1),
            Key("PreventAppSheet"), Bool(false),
            Key("PreventMove"), Bool(false),
            Key("SMIMEEnabled"), Bool(false));
        var profile = new XElement("dict",
            Key("PayloadContent"), new XElement("array", account),
            Key("PayloadDisplayName"), Str($"{address} ({label})"),
            Key("PayloadIdentifier"), Str($"sealpost.{hostname}.{Guid.NewGuid():N}"),
            Key("PayloadRemovalDisallowed"), Bool(false),
            Key("PayloadType"), Str("Configuration"),
            Key("PayloadUUID"), Str(Guid.NewGuid().ToString().ToUpperInvariant()),
            Key("PayloadVersion"), Int(1));
        var document = new XDocument(new XDeclaration("1.0", "UTF-8", null),
            new XDocumentType("plist", "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd", null),
            new XElement("plist", new XAttribute("version", "1.0"), profile));
        using var buffer = new MemoryStream();
        using (var writer = System.Xml.XmlWriter.Create(buffer, new System.Xml.XmlWriterSettings { Encoding = new System.Text.UTF8Encoding(false), Indent = true }))
        {
            document.Save(writer);
        }

        return buffer.ToArray();
    }
}
