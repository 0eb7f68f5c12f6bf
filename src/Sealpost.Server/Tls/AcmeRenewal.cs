using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Configuration;
using Sealpost.Delivery;

namespace Sealpost.Server.Tls;

/// <summary>
/// Keeps the ACME certificate current: at start, every <c>Tls:Acme:CheckMinutes</c> and on
/// <see cref="CheckNow"/> (SIGHUP) it compares the certificate in the keystore with the host names
/// wanted and its expiry, and orders a new one when a name is missing or fewer than
/// <c>RenewDaysBefore</c> days are left. The account key and the certificate's private key are kept
/// sealed in the keystore; the certificate goes through the configuration service (audited) and the
/// certificate store reloads it, so handshakes switch without a restart. A failed order is retried
/// after <c>RetrySeconds</c>; the certificate in use stays.
/// </summary>
public sealed class AcmeRenewal : IAsyncDisposable
{
    /// <summary>The pending http-01 answers, in the keystore every node shares: whichever node the CA reaches answers.</summary>
    private const string ChallengesName = "acme/challenges";

    /// <summary>Which node is ordering now, and until when: the others wait and take its certificate from the keystore.</summary>
    private const string LeaseName = "acme/order-lease";
    private readonly AcmeOptions _options;
    private readonly string _hostname;
    private readonly SealpostRuntime _runtime;
    private readonly CertificateStore _certificates;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, string> _challenges = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public AcmeRenewal(AcmeOptions options, string hostname, SealpostRuntime runtime, CertificateStore certificates, ILogger logger)
    {
        _options = options;
        _hostname = hostname;
        _runtime = runtime;
        _certificates = certificates;
        _logger = logger;
    }

    /// <summary>Begins checking (the server calls it once its challenge listener is up).</summary>
    public void Start() => _loop = Task.Run(LoopAsync);

    /// <summary>Orders completed since start (for tests and the health page).</summary>
    public int Issued { get; private set; }

    /// <summary>The key authorisation for a pending http-01 token (this node's order or another node's), or null.</summary>
    public async Task<string?> KeyAuthorizationAsync(string token, CancellationToken ct)
    {
        if (_challenges.TryGetValue(token, out var value))
        {
            return value;
        }

        try
        {
            if (token.Length is 0 or > 256 || await _runtime.Keystore.GetSecretAsync(ChallengesName, ct) is not { Length: > 0 } shared)
            {
                return null;
            }

            var pending = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(shared);
            return pending is not null && pending.TryGetValue(token, out var answer) ? answer : null;
        }
        catch (Exception ex) when (ex is SealpostException or System.Text.Json.JsonException)
        {
            return null; // the store is away: the CA tries again
        }
    }

    /// <summary>Check now instead of at the next interval (SIGHUP, or a domain added).</summary>
    public void CheckNow()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A check is already due.
        }
    }

    /// <summary>The host names the certificate must cover now.</summary>
    public async Task<IReadOnlyList<string>> WantedHostsAsync(CancellationToken ct)
    {
        if (_options.Hosts.Count > 0)
        {
            return _options.Hosts.Select(h => h.ToLowerInvariant()).Distinct().ToList();
        }

        var hosts = new List<string> { _hostname.ToLowerInvariant() };
        foreach (var domain in await _runtime.Directory.ListDomainsAsync(Actor.System("acme"), ct))
        {
            hosts.Add("autoconfig." + domain.Name.Ascii.ToLowerInvariant());
            hosts.Add("mta-sts." + domain.Name.Ascii.ToLowerInvariant());
        }

        return hosts.Distinct().ToList();
    }

    private async Task LoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            TimeSpan next;
            try
            {
                next = await CheckAsync(ct) ? TimeSpan.FromMinutes(_options.CheckMinutes) : TimeSpan.FromSeconds(_options.RetrySeconds);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever went wrong (the CA, the network, an answer not as RFC 8555 says), the loop goes on.
                ServerLog.AcmeFailed(_logger, ex is SealpostException or IOException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}", _options.RetrySeconds);
                next = TimeSpan.FromSeconds(_options.RetrySeconds);
            }

            try
            {
                await _wake.WaitAsync(next, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool Current(IReadOnlyList<string> hosts) =>
        _certificates.Acme is { } current
        && current.NotAfter - DateTimeOffset.UtcNow > TimeSpan.FromDays(_options.RenewDaysBefore)
        && hosts.All(h => current.Hosts.Contains(h, StringComparer.OrdinalIgnoreCase));

    private sealed record Lease(string Node, DateTimeOffset Until);

    /// <summary>
    /// Orders a certificate when the one in use lacks a name or nears its expiry; true when the one in
    /// use is good, false when another node is ordering (look again soon).
    /// </summary>
    private async Task<bool> CheckAsync(CancellationToken ct)
    {
        var hosts = await WantedHostsAsync(ct);
        if (Current(hosts))
        {
            return true;
        }

        // Another node may have renewed it already: the keystore is shared.
        _certificates.Reload();
        if (Current(hosts))
        {
            return true;
        }

        var node = _runtime.Audit.Node;
        if (await _runtime.Keystore.GetSecretAsync(LeaseName, ct) is { Length: > 0 } held
            && System.Text.Json.JsonSerializer.Deserialize<Lease>(held) is { } lease && lease.Node != node && lease.Until > DateTimeOffset.UtcNow)
        {
            return false;
        }

        await _runtime.Keystore.PutSecretAsync(LeaseName, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Lease(node, DateTimeOffset.UtcNow.AddMinutes(10))), ct);

        var reason = _certificates.Acme is not { } had ? "none issued yet"
            : had.NotAfter - DateTimeOffset.UtcNow <= TimeSpan.FromDays(_options.RenewDaysBefore) ? $"expires {had.NotAfter:yyyy-MM-dd}"
            : "names added: " + string.Join(", ", hosts.Where(h => !had.Hosts.Contains(h, StringComparer.OrdinalIgnoreCase)));
        ServerLog.AcmeOrdering(_logger, hosts.Count, reason);
        using var accountKey = await AccountKeyAsync(ct);
        var trusted = _options.TrustedCaFile.Length > 0 ? await File.ReadAllTextAsync(_options.TrustedCaFile, ct) : null;
        var routes = Hosting.OutboundDeliveryHost.RoutesFor(_runtime.Options);
        using var client = new AcmeClient(new Uri(_options.DirectoryUrl), accountKey, trusted, TimeSpan.FromSeconds(30), routes.AddressesAsync);
        await client.EnsureAccountAsync(_options.Email.Length > 0 ? _options.Email : null, ct);
        using var certificateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var chain = await client.OrderAsync(hosts, AcmeClient.CertificateRequestFor(hosts, certificateKey),
            async (token, keyAuthorization) =>
            {
                _challenges[token] = keyAuthorization;
                await ShareChallengesAsync(ct);
            },
            async token =>
            {
                _challenges.TryRemove(token, out _);
                await ShareChallengesAsync(CancellationToken.None);
            },
            ct);
        await _runtime.Configuration.StoreTlsCertificateAsync(Actor.System("acme"), AcmeOptions.KeystoreName, chain, certificateKey.ExportPkcs8PrivateKeyPem(), ct);
        if (!_certificates.Reload())
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the issued certificate did not load");
        }

        Issued++;
        await _runtime.Keystore.PutSecretAsync(LeaseName, [], ct);
        ServerLog.AcmeIssued(_logger, hosts.Count, _certificates.Acme?.NotAfter.ToString("yyyy-MM-dd") ?? "?");
        return true;
    }

    private Task ShareChallengesAsync(CancellationToken ct) =>
        _runtime.Keystore.PutSecretAsync(ChallengesName, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(_challenges.ToDictionary()), ct);

    private async Task<ECDsa> AccountKeyAsync(CancellationToken ct)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(await _runtime.Configuration.AcmeAccountKeyAsync(Actor.System("acme"), ct), out _);
        return key;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _wake.Dispose();
    }
}
