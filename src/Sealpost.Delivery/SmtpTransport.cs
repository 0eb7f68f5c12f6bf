using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using Sealpost.Core.Configuration;

namespace Sealpost.Delivery;

/// <summary>The outcome of sending one message to one destination: a reply per recipient, the host and TLS used.</summary>
public sealed record AttemptResult(IReadOnlyDictionary<string, DeliveryReply> Replies, string? Host, string? Tls)
{
    /// <summary>Whether the host that took the message offers DSN (RFC 3461): then it reports success itself.</summary>
    public bool PeerOffersDsn { get; init; }
}

/// <summary>What one transaction carries: the envelope sender, the recipients with their RFC 3461 parameters, ENVID, RET, REQUIRETLS.</summary>
public sealed record Transaction(string ReturnPath, IReadOnlyList<(string Address, IReadOnlyDictionary<string, string?> Parameters)> Recipients, string? EnvelopeId, bool ReturnHeadersOnly, bool RequireTls);

/// <summary>
/// Sends messages to mail hosts over pooled connections: at most
/// <c>Delivery:MaxConnectionsPerDestination</c> open to one host, each reused for up to
/// <c>Delivery:MaxMessagesPerConnection</c> messages and closed after <c>Delivery:IdleConnectionSeconds</c>
/// idle. STARTTLS whenever offered (any certificate: opportunistic TLS, RFC 7435); where TLS is
/// required, a certificate valid for the host name or the transaction fails temporarily.
/// </summary>
public sealed partial class SmtpTransport : IAsyncDisposable
{
    private readonly DeliveryOptions _options;
    private readonly EgressConnector _connector;
    private readonly string _heloName;
    private readonly X509Certificate2Collection? _extraRoots;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Destination> _destinations = new(StringComparer.OrdinalIgnoreCase);

    public SmtpTransport(DeliveryOptions options, EgressConnector connector, string heloName, ILogger logger)
    {
        _options = options;
        _connector = connector;
        _heloName = heloName;
        _logger = logger;
        _extraRoots = ExtraRoots(options);
    }

    /// <summary>The test-only extra roots (Delivery:TestTrustedRootsFile), or null.</summary>
    public static X509Certificate2Collection? ExtraRoots(DeliveryOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.TestTrustedRootsFile))
        {
            return null;
        }

        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(options.TestTrustedRootsFile);
        return roots;
    }

    /// <summary>Where TLS sessions are counted for TLS-RPT reports, when they are sent.</summary>
    public TlsReportCollector? Reports { get; init; }

    public async Task<AttemptResult> SendAsync(Route route, Transaction transaction, MimeMessage message, CancellationToken ct)
    {
        DeliveryReply? lastFailure = null;
        string? lastHost = null;
        foreach (var host in route.Hosts)
        {
            lastHost = host.Name;
            var requireTls = host.RequireTls || transaction.RequireTls;
            var destination = _destinations.GetOrAdd($"{host.Name}:{host.Port}", _ => new Destination(_options.MaxConnectionsPerDestination));
            await destination.Slots.WaitAsync(ct);
            OutboundClient? client = null;
            var reusable = false;
            try
            {
                (client, var connectFailure) = await TakeOrConnectAsync(destination, host, requireTls, ct);
                if (route.ReportPolicy is { } policy && Reports is { } reports)
                {
                    // RFC 8460 §4.3: a session counts once, as TLS negotiated or as the failure that stopped it.
                    if (client is not null)
                    {
                        if (client.IsEncrypted)
                        {
                            reports.Success(policy);
                        }
                        else
                        {
                            reports.Failure(policy, "starttls-not-supported", host.Name, client.RemoteAddress);
                        }
                    }
                    else if (connectFailure?.ToString() is { } why && why.Contains(" 4.7.", StringComparison.Ordinal))
                    {
                        reports.Failure(policy, why.Contains("STARTTLS", StringComparison.Ordinal) ? "starttls-not-supported"
                            : host.Tlsa.Count > 0 ? "tlsa-invalid" : "validation-failure", host.Name, host.Addresses.FirstOrDefault()?.ToString());
                    }
                }

                if (client is null)
                {
                    lastFailure = connectFailure;
                    continue;
                }

                var tls = client.IsEncrypted ? $"{client.SslProtocol} {client.SslCipherSuite}" : null;
                var (replies, retryElsewhere) = await TransactAsync(client, transaction, message, ct);
                reusable = retryElsewhere is null && client.IsConnected;
                if (retryElsewhere is { } temporary)
                {
                    lastFailure = temporary;
                    continue;
                }

                return new AttemptResult(replies, host.Name, tls) { PeerOffersDsn = client.Capabilities.HasFlag(SmtpCapabilities.Dsn) };
            }
            finally
            {
                if (client is not null)
                {
                    await ReturnAsync(destination, client, reusable);
                }

                destination.Slots.Release();
            }
        }

        var failure = lastFailure ?? DeliveryReply.Temporary("451 4.4.1 no mail host could be reached");
        return new AttemptResult(transaction.Recipients.ToDictionary(r => r.Address, _ => failure, StringComparer.OrdinalIgnoreCase), lastHost, null);
    }

    /// <summary>
    /// One SMTP transaction. Returns each recipient's reply, or a temporary failure at connection
    /// level (greeting, MAIL, a dropped connection) that the next host may not have.
    /// </summary>
    private async Task<(Dictionary<string, DeliveryReply> Replies, DeliveryReply? RetryElsewhere)> TransactAsync(OutboundClient client, Transaction transaction, MimeMessage message, CancellationToken ct)
    {
        var replies = new Dictionary<string, DeliveryReply>(StringComparer.OrdinalIgnoreCase);
        if (transaction.RequireTls && !client.Capabilities.HasFlag(SmtpCapabilities.RequireTLS))
        {
            // RFC 8689 §4.2.2: a message sent with REQUIRETLS goes only to a host that offers it; another MX may.
            return (replies, DeliveryReply.Permanent("550 5.7.30 REQUIRETLS support required: the recipient's mail host does not offer it"));
        }

        var parameters = transaction.Recipients.ToDictionary(r => r.Address, r => r.Parameters, StringComparer.OrdinalIgnoreCase);
        client.Begin(mailbox => Notify(parameters.GetValueOrDefault(mailbox.Address)), transaction.EnvelopeId,
            transaction.ReturnHeadersOnly ? DeliveryStatusNotificationType.HeadersOnly : DeliveryStatusNotificationType.Full);
        client.RequireTLS = transaction.RequireTls;
        var sender = new MailboxAddress("", transaction.ReturnPath);
        var recipients = transaction.Recipients.Select(r => new MailboxAddress("", r.Address)).ToList();
        try
        {
            var final = await client.SendAsync(FormatOptions.Default, message, sender, recipients, ct);
            client.MessagesSent++;
            foreach (var (address, reply) in client.Refused)
            {
                replies[address] = reply;
            }

            foreach (var address in client.Accepted.Keys)
            {
                replies[address] = DeliveryReply.Parse("250 " + final);
            }

            return (replies, null);
        }
        catch (NoRecipientsAcceptedException)
        {
            foreach (var (address, reply) in client.Refused)
            {
                replies[address] = reply;
            }

            return (replies, null);
        }
        catch (SmtpCommandException ex) when (ex.ErrorCode == SmtpErrorCode.MessageNotAccepted || (int)ex.StatusCode >= 500)
        {
            // DATA refused, or MAIL refused for good: the same answer for every recipient still open.
            var reply = new DeliveryReply((int)ex.StatusCode, ex.Message);
            foreach (var r in transaction.Recipients)
            {
                replies[r.Address] = client.Refused.GetValueOrDefault(r.Address) ?? reply;
            }

            return (replies, null);
        }
        catch (SmtpCommandException ex)
        {
            return (replies, new DeliveryReply((int)ex.StatusCode, ex.Message));
        }
        catch (Exception ex) when (ex is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException)
        {
            return (replies, DeliveryReply.Temporary($"451 4.4.2 the connection to the mail host broke: {Summary(ex)}"));
        }
    }

    private static DeliveryStatusNotification? Notify(IReadOnlyDictionary<string, string?>? parameters)
    {
        if (parameters is null || !parameters.TryGetValue("NOTIFY", out var value) || value is null)
        {
            return null;
        }

        var notify = default(DeliveryStatusNotification);
        foreach (var keyword in value.Split(','))
        {
            notify |= keyword.Trim().ToUpperInvariant() switch
            {
                "NEVER" => DeliveryStatusNotification.Never,
                "SUCCESS" => DeliveryStatusNotification.Success,
                "FAILURE" => DeliveryStatusNotification.Failure,
                "DELAY" => DeliveryStatusNotification.Delay,
                _ => default,
            };
        }

        return notify;
    }

    private async Task<(OutboundClient? Client, DeliveryReply? Failure)> TakeOrConnectAsync(Destination destination, MailHost host, bool requireTls, CancellationToken ct)
    {
        while (destination.Idle.TryPop(out var idle))
        {
            if (idle.Client.IsConnected && DateTime.UtcNow - idle.Since < TimeSpan.FromSeconds(_options.IdleConnectionSeconds)
                && (!requireTls || idle.Client.IsEncrypted))
            {
                return (idle.Client, null);
            }

            await CloseAsync(idle.Client);
        }

        DeliveryReply? failure = null;
        foreach (var address in host.Addresses)
        {
            var client = new OutboundClient
            {
                LocalDomain = _heloName,
                Timeout = _options.CommandTimeoutSeconds * 1000,
                CheckCertificateRevocation = false,
                ServerCertificateValidationCallback = (_, certificate, chain, errors) =>
                    host.Tlsa.Count > 0 ? certificate is not null && Dane.Verified(host.Name, new X509Certificate2(certificate), Presented(chain), host.Tlsa)
                    : !requireTls || Verified(host.Name, certificate, errors, _extraRoots),
            };
            try
            {
                var socket = await _connector.ConnectAsync(address, host.Port, TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds), ct);
                client.RemoteAddress = address.ToString();
                await client.ConnectAsync(socket, host.Name, host.Port, requireTls ? SecureSocketOptions.StartTls : SecureSocketOptions.StartTlsWhenAvailable, ct);
                if (host.Credential is { } credential)
                {
                    await client.AuthenticateAsync(credential, ct);
                }

                return (client, null);
            }
            catch (NotSupportedException) when (requireTls)
            {
                failure = DeliveryReply.Temporary($"451 4.7.4 TLS is required for {host.Name} but it does not offer STARTTLS");
            }
            catch (SslHandshakeException ex)
            {
                failure = DeliveryReply.Temporary($"451 4.7.5 TLS with {host.Name} failed: {Summary(ex)}");
            }
            catch (AuthenticationException ex)
            {
                failure = DeliveryReply.Temporary($"451 4.7.0 {host.Name} refused our AUTH: {Summary(ex)}");
            }
            catch (SmtpCommandException ex)
            {
                failure = new DeliveryReply((int)ex.StatusCode < 400 ? 451 : (int)ex.StatusCode, ex.Message);
            }
            catch (Exception ex) when (ex is SocketException or IOException or SmtpProtocolException)
            {
                failure = DeliveryReply.Temporary($"451 4.4.1 connection to {host.Name} [{address}]:{host.Port} failed: {Summary(ex)}");
            }

            client.Dispose();
        }

        return (null, failure ?? DeliveryReply.Temporary($"451 4.4.1 {host.Name} has no address"));
    }

    private static List<X509Certificate2> Presented(X509Chain? chain) =>
        chain is null ? [] : [.. chain.ChainElements.Select(e => e.Certificate), .. chain.ChainPolicy.ExtraStore];

    /// <summary>A certificate valid for <paramref name="hostName"/> by the system's roots, or by the test-only extra roots.</summary>
    internal static bool Verified(string hostName, X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? extraRoots)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || extraRoots is null || certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf) && leaf.MatchesHostname(hostName);
    }

    private async Task ReturnAsync(Destination destination, OutboundClient client, bool reusable)
    {
        if (reusable && client.MessagesSent < _options.MaxMessagesPerConnection && _options.IdleConnectionSeconds > 0)
        {
            destination.Idle.Push(new IdleClient(client, DateTime.UtcNow));
            return;
        }

        await CloseAsync(client);
    }

    /// <summary>Closes connections idle longer than <c>Delivery:IdleConnectionSeconds</c>.</summary>
    public async Task CloseIdleAsync()
    {
        foreach (var destination in _destinations.Values)
        {
            var keep = new List<IdleClient>();
            while (destination.Idle.TryPop(out var idle))
            {
                if (DateTime.UtcNow - idle.Since < TimeSpan.FromSeconds(_options.IdleConnectionSeconds) && idle.Client.IsConnected)
                {
                    keep.Add(idle);
                }
                else
                {
                    await CloseAsync(idle.Client);
                }
            }

            foreach (var idle in keep)
            {
                destination.Idle.Push(idle);
            }
        }
    }

    private async Task CloseAsync(OutboundClient client)
    {
        try
        {
            if (client.IsConnected)
            {
                using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.DisconnectAsync(true, quit.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or SmtpProtocolException or SmtpCommandException or OperationCanceledException or ServiceNotConnectedException)
        {
            DeliveryLog.CloseFailed(_logger, ex.GetType().Name);
        }
        finally
        {
            client.Dispose();
        }
    }

    private static string Summary(Exception ex) => (ex.InnerException ?? ex).Message.Split('\n')[0].Trim();

    public async ValueTask DisposeAsync()
    {
        foreach (var destination in _destinations.Values)
        {
            while (destination.Idle.TryPop(out var idle))
            {
                await CloseAsync(idle.Client);
            }
        }
    }

    private sealed record IdleClient(OutboundClient Client, DateTime Since);

    private sealed class Destination(int slots)
    {
        public SemaphoreSlim Slots { get; } = new(slots, slots);

        public ConcurrentStack<IdleClient> Idle { get; } = new();
    }
}
