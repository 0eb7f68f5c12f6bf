using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MimeKit;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Audit;
using Sealpost.Core.Caching;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;
using Sealpost.Mime.Dkim;

namespace Sealpost.Domain;

/// <summary>A domain's DKIM keys as published: the active one and those rotated out (whose TXT records can go once mail signed with them is delivered).</summary>
public sealed record DkimKeys(DkimKey Active, IReadOnlyList<DkimPublished> Previous);

/// <summary>A rotated-out key: only what DNS holds of it.</summary>
public sealed record DkimPublished(
    [property: JsonPropertyName("selector")] string Selector,
    [property: JsonPropertyName("alg")] string Algorithm,
    [property: JsonPropertyName("record")] string DnsRecord,
    [property: JsonPropertyName("retired")] DateTimeOffset Retired);

/// <summary>
/// DKIM signing keys per domain (RFC 6376; Ed25519 per RFC 8463), kept in the keystore sealed by
/// the master key; only platform administrators create or rotate them (audited with selector and
/// algorithm). Mail submitted for other organisations is signed with the key of its From domain
/// before it is queued.
/// </summary>
[DomainService]
public sealed class DkimService(Keystore keystore, IDirectoryStore directory, AccessGuard guard, TimeProvider time)
{
    private readonly TtlCache<string, Stored?> _cache = new(TimeSpan.FromSeconds(30), 10_000);

    /// <summary>A domain's first key; <see cref="ErrorKind.Conflict"/> if it has one (rotate it instead).</summary>
    [Requires(Operation.DkimManage)]
    public Task<DkimKey> CreateAsync(Actor actor, string domain, string algorithm, string? selector, CancellationToken ct, string? importPem = null) =>
        MakeAsync(actor, domain, algorithm, selector, rotate: false, ct, importPem);

    /// <summary>A new key (and selector) for the domain; the old one's record is kept for <see cref="ShowAsync"/>.</summary>
    [Requires(Operation.DkimManage)]
    public Task<DkimKey> RotateAsync(Actor actor, string domain, string algorithm, string? selector, CancellationToken ct) =>
        MakeAsync(actor, domain, algorithm, selector, rotate: true, ct);

    [Requires(Operation.DkimManage)]
    public async Task<DkimKeys> ShowAsync(Actor actor, string domain, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.DkimManage, Scope.Platform, domain);
        var name = await OurDomainAsync(domain, ct);
        var stored = await LoadAsync(name.Ascii, ct) ?? throw SealpostException.NotFound($"{name} has no DKIM key; create one with 'sealpost dkim create --domain {name}'");
        return new DkimKeys(stored.Active, stored.Previous);
    }

    private Task<DkimKey> MakeAsync(Actor actor, string domain, string algorithm, string? selector, bool rotate, CancellationToken ct, string? importPem = null) =>
        guard.AdministerAsync(actor, AuditAction.DkimKeyCreated, domain, async () =>
        {
            guard.Require(actor, Operation.DkimManage, Scope.Platform);
            if (algorithm is not ("rsa" or "ed25519"))
            {
                throw SealpostException.Invalid($"algorithm must be 'rsa' or 'ed25519' (got '{algorithm}')");
            }

            var name = await OurDomainAsync(domain, ct);
            var now = time.GetUtcNow();
            var chosen = selector ?? $"sp{now.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}{(algorithm == "ed25519" ? "e" : "r")}";
            if (chosen.Length is 0 or > 63 || !chosen.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') || chosen[0] == '-')
            {
                throw SealpostException.Invalid($"selector must be one DNS label of letters, digits and hyphens (got '{chosen}')");
            }

            var existing = await LoadAsync(name.Ascii, ct);
            if (existing is not null && !rotate)
            {
                throw new SealpostException(ErrorKind.Conflict, $"{name} already has a DKIM key (selector {existing.Active.Selector}); use 'sealpost dkim rotate'");
            }

            if (existing is null && rotate)
            {
                throw SealpostException.NotFound($"{name} has no DKIM key to rotate; use 'sealpost dkim create'");
            }

            if (existing is not null && (existing.Active.Selector == chosen || existing.Previous.Any(p => p.Selector == chosen)))
            {
                throw new SealpostException(ErrorKind.Conflict, $"selector {chosen} was used before for {name}; choose another with --selector");
            }

            DkimKey key;
            try
            {
                key = importPem is null ? DkimKey.Create(name.Ascii, chosen, algorithm, now)
                    : algorithm == "rsa" ? DkimKey.ImportRsa(name.Ascii, chosen, importPem, now)
                    : throw SealpostException.Invalid("only RSA keys can be imported");
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw SealpostException.Invalid("the private key cannot be used: " + ex.Message);
            }

            var previous = existing is null ? [] : existing.Previous.Append(new DkimPublished(existing.Active.Selector, existing.Active.Algorithm, existing.Active.DnsRecord, now)).ToList();
            await keystore.PutSecretAsync(EntryName(name.Ascii), JsonSerializer.SerializeToUtf8Bytes(new Stored(key, previous)), ct);
            _cache.Remove(name.Ascii);
            return (key, $"selector {chosen}; {key.Algorithm}{(importPem is null ? "" : "; imported")}");
        }, ct);

    /// <summary>
    /// The message signed with the key of its From domain (8-bit bodies made 7-bit first, so the
    /// signature survives a next hop without 8BITMIME), or unchanged when that domain has no key
    /// (or the message has no single From address). Called by delivery for mail leaving the organisation.
    /// </summary>
    internal async Task<byte[]> SignAsync(byte[] message, CancellationToken ct)
    {
        var domain = FromDomain(message);
        if (domain is null || await _cache.GetOrLoadAsync(domain, async (d, token) => await LoadAsync(d, token), ct) is not { } stored)
        {
            return message;
        }

        try
        {
            return DkimMessageSigner.Sign(Sealpost.Mime.SevenBit.Downgrade(message), stored.Active);
        }
        catch (FormatException)
        {
            return message; // a header block MIME cannot read: sent unsigned, like mail with no single From
        }
    }

    private static string? FromDomain(byte[] message)
    {
        using var stream = new MemoryStream(message);
        HeaderList headers;
        try
        {
            headers = HeaderList.Load(stream);
        }
        catch (FormatException)
        {
            return null; // no header block to speak of: nothing to sign for
        }

        var from = headers[HeaderId.From];
        if (from is null || !InternetAddressList.TryParse(from, out var list) || list.Mailboxes.Count() != 1)
        {
            return null;
        }

        var address = list.Mailboxes.Single().Address;
        return DomainName.TryParse(address[(address.LastIndexOf('@') + 1)..], out var name, out _) ? name.Ascii : null;
    }

    /// <summary>
    /// The DNS records a hosted domain needs (<see cref="DomainRecords"/>), with its DKIM key in force
    /// (the public record only, as DNS publishes it), for whoever may see the domain: its department's
    /// administrators, platform administrators, operators and auditors.
    /// </summary>
    /// <summary>The MTA-STS policy published for hosted domains (its id is in their records).</summary>
    public HostedMtaSts MtaSts { get; init; } = HostedMtaSts.Default;

    [Requires(Operation.DomainList)]
    public async Task<IReadOnlyList<DomainRecord>> RecordsAsync(Actor actor, string domain, string hostname, CancellationToken ct = default)
    {
        var name = await OurDomainAsync(domain.Trim().TrimEnd('.'), ct);
        var hosted = (await directory.FindDomainAsync(name, ct))!;
        await guard.RequireAsync(actor, Operation.DomainList, Scope.OfTenant(hosted.TenantId), name.Ascii);
        var stored = await LoadAsync(name.Ascii, ct);
        return DomainRecords.For(name.Ascii, hostname, stored is null ? null : (stored.Active.DnsName, stored.Active.DnsRecord), MtaSts);
    }

    private async Task<DomainName> OurDomainAsync(string domain, CancellationToken ct)
    {
        if (!DomainName.TryParse(domain, out var name, out var error))
        {
            throw SealpostException.Invalid($"'{domain}' is not a domain name: {error}");
        }

        return await directory.FindDomainAsync(name, ct) is null ? throw SealpostException.NotFound($"{name} is not one of this server's domains") : name;
    }

    private async Task<Stored?> LoadAsync(string domain, CancellationToken ct) =>
        await keystore.GetSecretAsync(EntryName(domain), ct) is { } bytes ? JsonSerializer.Deserialize<Stored>(bytes) : null;

    private static string EntryName(string domain) => "dkim/" + domain;

    private sealed record Stored(
        [property: JsonPropertyName("active")] DkimKey Active,
        [property: JsonPropertyName("previous")] IReadOnlyList<DkimPublished> Previous);
}
