using System.Net;

namespace Sealpost.Connections;

/// <summary>How a client's address is written everywhere (logs, limits, SPF, trace headers), whatever socket it came in on.</summary>
public static class ClientEndpoint
{
    /// <summary>An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d; it is the IPv4 address a.b.c.d.</summary>
    public static IPEndPoint? Normalise(IPEndPoint? endpoint) =>
        endpoint is { Address.IsIPv4MappedToIPv6: true } ? new IPEndPoint(endpoint.Address.MapToIPv4(), endpoint.Port) : endpoint;

    /// <summary>An address literal as RFC 5321 §4.1.3 writes it: [192.0.2.1] or [IPv6:2001:db8::1].</summary>
    public static string AddressLiteral(IPAddress? address) => address switch
    {
        null => "[unknown]",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6, IsIPv4MappedToIPv6: false } => $"[IPv6:{address}]",
        { IsIPv4MappedToIPv6: true } => $"[{address.MapToIPv4()}]",
        _ => $"[{address}]",
    };
}
