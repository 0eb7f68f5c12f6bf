using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Configuration;
using Sealpost.Crypto.Vault;

namespace Sealpost.Domain;

/// <summary>One policy in force: its option name, its value as configured, and the section it belongs to.</summary>
public sealed record PolicyView(string Option, string Value);

/// <summary>A node as the audit trail knows it: its last recorded start (with version and mode) and stop.</summary>
public sealed record NodeView(string Node, DateTimeOffset? StartedAt, string? Started, DateTimeOffset? StoppedAt)
{
    /// <summary>Started after its last recorded stop (a node that crashed looks running until it starts again).</summary>
    public bool Running => StartedAt is { } s && (StoppedAt is not { } t || s > t);
}

/// <summary>
/// The server's own lifecycle in the audit trail: every start and stop, and at start the names of
/// the options that changed since the last start. Values are never recorded (connection strings hold
/// passwords): each option is remembered as a keyed hash, sealed in the keystore.
/// </summary>
[DomainService]
public sealed class ConfigurationService(Keystore keystore, AccessGuard guard, Sealpost.Core.Storage.IDirectoryStore directory)
{
    /// <summary>
    /// Adds a recovery public key version (the officers made the pair offline; only the public half
    /// comes here), signed by the directory key, with its fingerprint in the audit trail.
    /// </summary>
    [Requires(Operation.RecoveryKeyAdd)]
    public Task AddRecoveryKeyAsync(Actor actor, int version, byte[] publicKey, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.KeyVersionCreated, RecoveryTarget, async () =>
        {
            guard.Require(actor, Operation.RecoveryKeyAdd, Scope.Platform);
            var key = new Sealpost.Core.Directory.RecoveryKey(version, publicKey, keystore.SignRecoveryKey(version, publicKey), DateTimeOffset.UtcNow);
            await directory.AddRecoveryKeyAsync(key, ct);
            return (string?)RecoveryKeyDetail(key);
        }, ct);

    /// <summary>
    /// Keeps a TLS certificate chain and its private key sealed in the keystore under
    /// <paramref name="name"/> (entries tls/NAME/chain and tls/NAME/key); the audit record names its
    /// fingerprint, host names and expiry, so a substituted certificate shows in the trail.
    /// </summary>
    [Requires(Operation.TlsCertificateStore)]
    public Task StoreTlsCertificateAsync(Actor actor, string name, string chainPem, string keyPem, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.TlsCertificateStored, "tls/" + name, async () =>
        {
            guard.Require(actor, Operation.TlsCertificateStore, Scope.Platform);
            string detail;
            try
            {
                using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(chainPem, keyPem);
                if (!certificate.HasPrivateKey)
                {
                    throw Sealpost.Core.SealpostException.Invalid("the key does not belong to the certificate");
                }

                var names = certificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>()
                    .SelectMany(e => e.EnumerateDnsNames()).ToList();
                detail = $"sha256:{certificate.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant()} names {string.Join(",", names)} until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}";
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                throw Sealpost.Core.SealpostException.Invalid($"cannot use the certificate with that key: {ex.Message.Split('\n')[0]}");
            }

            await keystore.PutSecretAsync($"tls/{name}/chain", Encoding.ASCII.GetBytes(chainPem), ct);
            await keystore.PutSecretAsync($"tls/{name}/key", Encoding.ASCII.GetBytes(keyPem), ct);
            return (true, (string?)detail);
        }, ct);

    /// <summary>
    /// The ACME account's private key (PKCS#8), made and sealed in the keystore on first use; its making
    /// is audited with the public key's SHA-256, as every other key's is.
    /// </summary>
    [Requires(Operation.TlsCertificateStore)]
    public async Task<byte[]> AcmeAccountKeyAsync(Actor actor, CancellationToken ct = default)
    {
        const string name = "acme/account-key";
        guard.Require(actor, Operation.TlsCertificateStore, Scope.Platform);
        if (await keystore.GetSecretAsync(name, ct) is { } stored)
        {
            return stored;
        }

        return await guard.AdministerAsync(actor, AuditAction.AcmeAccountKeyCreated, "tls/acme", async () =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var pkcs8 = key.ExportPkcs8PrivateKey();
            await keystore.PutSecretAsync(name, pkcs8, ct);
            return (pkcs8, (string?)$"P-256 sha256:{Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))}");
        }, ct);
    }

    /// <summary>The audit target of recovery key versions.</summary>
    public const string RecoveryTarget = "recovery";

    public static string RecoveryKeyDetail(Sealpost.Core.Directory.RecoveryKey key) =>
        $"v{key.Version} sha256:{Convert.ToHexStringLower(SHA256.HashData(key.PublicKey))}";

    private const string FingerprintKeyName = "configuration-fingerprint";
    private const string StateName = "configuration-state";

    /// <summary>Records the start; a <see cref="AuditAction.ConfigurationChanged"/> record first if any option differs from the last start.</summary>
    [Requires(Operation.ServerLifecycle)]
    public async Task RecordStartAsync(Actor actor, SealpostOptions options, string version, string mode, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.ServerLifecycle, Scope.Platform);
        var key = await keystore.GetOrCreateSecretAsync(FingerprintKeyName, 32, ct);
        var current = Flatten(options).ToDictionary(kv => kv.Key, kv => Convert.ToHexString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(kv.Key + "\0" + kv.Value))));
        var previousBytes = await keystore.GetSecretAsync(StateName, ct);
        var previous = previousBytes is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(previousBytes);
        if (previous is not null)
        {
            var changed = current.Keys.Union(previous.Keys)
                .Where(k => !current.TryGetValue(k, out var a) || !previous.TryGetValue(k, out var b) || a != b)
                .Order(StringComparer.Ordinal)
                .ToList();
            if (changed.Count > 0)
            {
                await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.ConfigurationChanged, null, AuditOutcome.Success,
                    "changed: " + string.Join(", ", changed.Take(50)) + (changed.Count > 50 ? $" and {changed.Count - 50} more" : "")), Audit.AuditDurability.Store);
            }
        }

        await keystore.PutSecretAsync(StateName, JsonSerializer.SerializeToUtf8Bytes(current), ct);
        await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.ServerStarted, null, AuditOutcome.Success, $"version {version}; {mode}; store {options.Store.Kind}"), Audit.AuditDurability.StoreOrSpool);
    }

    /// <summary>The master key was rebuilt from officers' shares (which ones, how many were refused).</summary>
    [Requires(Operation.ServerLifecycle)]
    public async Task RecordUnsealAsync(Actor actor, string detail, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.ServerLifecycle, Scope.Platform);
        await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.ServerUnsealed, null, AuditOutcome.Success, detail), Audit.AuditDurability.Store);
    }

    /// <summary>The officers split the same master key anew (k of the old shares were given).</summary>
    [Requires(Operation.UnsealSharesRotate)]
    public async Task RecordSharesRotatedAsync(Actor actor, string detail, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.UnsealSharesRotate, Scope.Platform);
        await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.UnsealSharesRotated, null, AuditOutcome.Success, detail), Audit.AuditDurability.Store);
    }

    // ---- peer unseal ----

    private const string PeersName = "peer-approvals";

    /// <summary>A node certificate approved for peer unseal; kept sealed in the keystore, so nobody without the master key can add one.</summary>
    public sealed record PeerApproval(string Fingerprint, string Label, string ApprovedBy, DateTimeOffset ApprovedAt);

    /// <summary>The SHA-256 fingerprint of a DER certificate as approvals name it (lower-case hex).</summary>
    public static string Fingerprint(byte[] certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate));

    /// <summary>Approves a node certificate (by its SHA-256 fingerprint: hex, with or without colons).</summary>
    [Requires(Operation.PeerApprove)]
    public Task ApprovePeerAsync(Actor actor, string fingerprint, string label, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.PeerApproved, "peer", async () =>
        {
            guard.Require(actor, Operation.PeerApprove, Scope.Platform);
            var normalised = NormaliseFingerprint(fingerprint);
            if (string.IsNullOrWhiteSpace(label) || label.Length > 64 || label.Any(char.IsControl))
            {
                throw Core.SealpostException.Invalid("--label: 1-64 printable characters naming the node");
            }

            var peers = (await LoadPeersAsync(ct)).Where(p => p.Fingerprint != normalised).ToList();
            peers.Add(new PeerApproval(normalised, label.Trim(), actor.Name, DateTimeOffset.UtcNow));
            await keystore.PutSecretAsync(PeersName, JsonSerializer.SerializeToUtf8Bytes(peers), ct);
            return $"sha256:{normalised} '{label.Trim()}'";
        }, ct);

    [Requires(Operation.PeerApprove)]
    public Task RevokePeerAsync(Actor actor, string fingerprint, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.PeerRevoked, "peer", async () =>
        {
            guard.Require(actor, Operation.PeerApprove, Scope.Platform);
            var normalised = NormaliseFingerprint(fingerprint);
            var peers = await LoadPeersAsync(ct);
            if (peers.All(p => p.Fingerprint != normalised))
            {
                throw Core.SealpostException.NotFound($"no approved peer has fingerprint {normalised}");
            }

            await keystore.PutSecretAsync(PeersName, JsonSerializer.SerializeToUtf8Bytes(peers.Where(p => p.Fingerprint != normalised).ToList()), ct);
            return $"sha256:{normalised}";
        }, ct);

    [Requires(Operation.PeerApprove)]
    public async Task<IReadOnlyList<PeerApproval>> ListPeersAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.PeerApprove, Scope.Platform);
        return await LoadPeersAsync(ct);
    }

    /// <summary>
    /// A node presenting <paramref name="fingerprint"/> over mutual TLS asks for the master key: a copy
    /// if the officers approved that certificate (the caller zeroes it), else null. Either way audited.
    /// Like a login, anyone may ask; the approvals decide.
    /// </summary>
    [Requires(Operation.Login)]
    public async Task<byte[]?> ReleaseMasterKeyToPeerAsync(Actor peer, string fingerprint, CancellationToken ct = default)
    {
        await guard.Audit.EnsureWritableAsync(ct);
        var approval = (await LoadPeersAsync(ct)).FirstOrDefault(p => p.Fingerprint == fingerprint);
        await guard.Audit.RecordAsync(AuditEvent.Of(peer, AuditAction.PeerUnseal, "peer", approval is null ? AuditOutcome.Refused : AuditOutcome.Success,
            approval is null ? $"sha256:{fingerprint} is not approved" : $"sha256:{fingerprint} '{approval.Label}'"), Audit.AuditDurability.Store);
        return approval is null ? null : keystore.CopyMasterKeyForPeer();
    }

    private async Task<List<PeerApproval>> LoadPeersAsync(CancellationToken ct) =>
        await keystore.GetSecretAsync(PeersName, ct) is { } bytes ? JsonSerializer.Deserialize<List<PeerApproval>>(bytes) ?? [] : [];

    private static string NormaliseFingerprint(string text)
    {
        var hex = text.Trim().Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
        if (hex.StartsWith("sha256", StringComparison.Ordinal))
        {
            hex = hex[6..].TrimStart('=', ' ');
        }

        return hex.Length == 64 && hex.All(Uri.IsHexDigit)
            ? hex
            : throw Core.SealpostException.Invalid("a fingerprint is the certificate's SHA-256 in hex (openssl x509 -noout -fingerprint -sha256 -in node.pem)");
    }

    /// <summary>The metrics in the Prometheus text format, for operators, platform administrators and auditors (a scrape token with one of those roles).</summary>
    [Requires(Operation.ConfigurationRead)]
    public async Task<string> ReadMetricsAsync(Actor actor, Func<string> render, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.ConfigurationRead, Scope.Platform);
        return render();
    }

    /// <summary>
    /// The options that are policy rather than plumbing (sign-in lockouts, sessions, retention, quotas
    /// and sizes, sending limits, TLS, authentication of senders), as this node runs them. They are set in
    /// the configuration file, where a change is audited at the next start; never a secret or a path.
    /// </summary>
    public static readonly IReadOnlyList<string> PolicyOptions =
    [
        "Limits:MaxAuthFailuresPerAccount", "Limits:MaxAuthFailuresPerAddress", "Limits:AuthFailureWindowMinutes",
        "Http:SessionMinutes", "Http:SessionIdleMinutes", "Http:MaxTokenDays", "Vault:EnrolmentTokenHours", "Vault:TellOwnersOfGrants",
        "Limits:DeletedAccountRetentionDays", "Store:EraseDeletedMail", "Store:ChangeLogRetentionDays",
        "Limits:DefaultQuotaBytes", "Limits:MaxMessageBytes", "Limits:MaxRecipients",
        "Delivery:MaxMessagesPerAccountPerHour", "Delivery:MaxRecipientsPerAccountPerHour", "Delivery:RequireTls", "Delivery:Dane", "Delivery:MtaSts",
        "Delivery:ExpireAfterHours", "Tls:MinimumProtocol", "Smtp:AuthenticationPolicy", "Smtp:OwnDomainSenders",
    ];

    [Requires(Operation.ConfigurationRead)]
    public async Task<IReadOnlyList<PolicyView>> ListPoliciesAsync(Actor actor, SealpostOptions options, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.ConfigurationRead, Scope.Platform);
        var all = Flatten(options).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return PolicyOptions.Where(all.ContainsKey).Select(o => new PolicyView(o, all[o])).ToList();
    }

    /// <summary>
    /// The nodes that started or stopped in the last <paramref name="window"/>, from their start and stop
    /// records in the audit trail (every node writes them to the one trail): name, version and mode at
    /// start, and whether a stop followed. State only, for operators watching a rolling upgrade.
    /// </summary>
    [Requires(Operation.ConfigurationRead)]
    public async Task<IReadOnlyList<NodeView>> ListNodesAsync(Actor actor, TimeSpan window, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.ConfigurationRead, Scope.Platform);
        var since = DateTimeOffset.UtcNow - window;
        var starts = await guard.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.ServerStarted, Since: since, Limit: 10_000), ct);
        var stops = await guard.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.ServerStopped, Since: since, Limit: 10_000), ct);
        return starts.Concat(stops).GroupBy(r => r.Node, StringComparer.Ordinal).Select(g =>
        {
            var start = g.Where(r => r.Event.Action == AuditAction.ServerStarted).MaxBy(r => r.Sequence);
            var stop = g.Where(r => r.Event.Action == AuditAction.ServerStopped).MaxBy(r => r.Sequence);
            return new NodeView(g.Key, start?.Event.Time, start?.Event.Detail, stop?.Event.Time);
        }).OrderBy(n => n.Node, StringComparer.Ordinal).ToList();
    }

    [Requires(Operation.ServerLifecycle)]
    public async Task RecordStopAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.ServerLifecycle, Scope.Platform);
        await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.ServerStopped, null, AuditOutcome.Success), Audit.AuditDurability.StoreOrSpool);
    }

    /// <summary>Every option as "Section:Key" (list items as "Section:Key:N") and its value as text.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Flatten(SealpostOptions options)
    {
        var root = JsonSerializer.SerializeToNode(options)!;
        var result = new List<KeyValuePair<string, string>>();
        void Walk(JsonNode? node, string path)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (name, child) in o)
                    {
                        Walk(child, path.Length == 0 ? name : path + ":" + name);
                    }

                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        Walk(a[i], path + ":" + i);
                    }

                    break;
                default:
                    result.Add(new(path, node?.ToJsonString() ?? "null"));
                    break;
            }
        }

        Walk(root, "");
        return result;
    }
}
