using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sealpost.Core;

namespace Sealpost.Crypto.Vault;

/// <summary>What a key-version request slip asks to be signed: one account key version, as stored.</summary>
public sealed record EndorseRequestSlip(
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("accountId")] long AccountId,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("publicKey")] byte[] PublicKey,
    [property: JsonPropertyName("signingPublicKey")] byte[]? SigningPublicKey)
{
    public string Fingerprint => SigningSlips.Fingerprint(PublicKey);
}

/// <summary>A signed endorsement, to be handed in for the version it names.</summary>
public sealed record EndorsementSlip(
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("signer")] byte[] Signer,
    [property: JsonPropertyName("signature")] byte[] Signature)
{
    public Endorsement Endorsement => new(Role == "approver" ? EndorsementKind.Approver : EndorsementKind.Requester, Signer, Signature);
}

/// <summary>What a grant request slip asks an officer to approve: the terms the approval signs, in full.</summary>
public sealed record GrantRequestSlip(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("grantee")] string Grantee,
    [property: JsonPropertyName("granteeAccountId")] long GranteeAccountId,
    [property: JsonPropertyName("mailbox")] string Mailbox,
    [property: JsonPropertyName("mailboxAccountId")] long MailboxAccountId,
    [property: JsonPropertyName("notBefore")] DateTimeOffset NotBefore,
    [property: JsonPropertyName("expiresAt")] DateTimeOffset ExpiresAt,
    [property: JsonPropertyName("justification")] string Justification,
    [property: JsonPropertyName("requestedBy")] string RequestedBy)
{
    public byte[] Payload => RecoveryGrantTerms.Payload(Id, GranteeAccountId, MailboxAccountId, NotBefore, ExpiresAt, Justification);
}

/// <summary>A signed grant approval, to be handed in for the grant it names.</summary>
public sealed record GrantApprovalSlip(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("signer")] byte[] Signer,
    [property: JsonPropertyName("signature")] byte[] Signature);

/// <summary>
/// One line of text that carries a signing request from the console to an officer's own machine and its
/// signature back (copy and paste, or a QR code, for an air-gapped machine): the browser never holds a
/// personal key. A slip is its kind's prefix and the base64url of its JSON. The officer's machine
/// recomputes what it signs from the slip's terms, so a page that showed other terms than the slip's gets
/// a signature the server refuses.
/// </summary>
public static class SigningSlips
{
    public const string EndorseRequestPrefix = "sealpost-endorse-request-v1:";
    public const string EndorsementPrefix = "sealpost-endorsement-v1:";
    public const string GrantRequestPrefix = "sealpost-grant-request-v1:";
    public const string GrantApprovalPrefix = "sealpost-grant-approval-v1:";
    private const int MaxSlipLength = 64 * 1024;

    private static readonly JsonSerializerOptions Json = new() { RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>"sha256:" and the hex of a key version's X25519 public key's hash (what owners and officers compare).</summary>
    public static string Fingerprint(byte[] publicKey) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(publicKey));

    public static string Write<T>(string prefix, T slip) => prefix + Base64Url(JsonSerializer.SerializeToUtf8Bytes(slip, Json));

    /// <summary>The slip of a kind, or a one-line <see cref="ErrorKind.InvalidInput"/> saying what is wrong with the text.</summary>
    public static T Read<T>(string prefix, string text)
    {
        var line = (text ?? "").Trim();
        if (line.Length > MaxSlipLength)
        {
            throw SealpostException.Invalid("the slip is too long");
        }

        if (!line.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw SealpostException.Invalid($"not a slip of this kind: it should start with '{prefix}'");
        }

        try
        {
            return JsonSerializer.Deserialize<T>(FromBase64Url(line[prefix.Length..]), Json) ?? throw SealpostException.Invalid("the slip is empty");
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw SealpostException.Invalid("the slip is damaged (copy the whole line)");
        }
    }

    /// <summary>Signs a key-version request with a personal key: the endorsement slip to hand back.</summary>
    public static string SignEndorsement(EndorseRequestSlip request, PersonalKey person, EndorsementKind kind)
    {
        var endorsement = KeyTrust.Sign(person, kind, request.AccountId, request.Version, request.PublicKey, request.SigningPublicKey ?? KeyVersionProof.NoSigningKey);
        return Write(EndorsementPrefix, new EndorsementSlip(request.Address, request.Version, kind == EndorsementKind.Approver ? "approver" : "requester", endorsement.SignerPublicKey, endorsement.Signature));
    }

    /// <summary>Signs a grant request's terms with a personal key: the approval slip to hand back.</summary>
    public static string SignGrant(GrantRequestSlip request, PersonalKey person) =>
        Write(GrantApprovalPrefix, new GrantApprovalSlip(request.Id, person.PublicKey, person.Sign(request.Payload)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
    }
}
