using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sealpost.Mime;

/// <summary>
/// What IMAP and JMAP need about a message without decrypting and re-parsing it: ENVELOPE,
/// BODYSTRUCTURE with exact octet and line counts and the offsets of every section, SORT/THREAD
/// keys, preview text and the header fields SEARCH reads. Computed once at delivery and sealed
/// with the message.
/// <para>Versioned: <see cref="Version"/> says which writer made it. Readers accept every earlier
/// version (new fields are optional and default sensibly); the metadata of a message can only be
/// rebuilt while its owner is logged in, so formats must stay forward-compatible.</para>
/// </summary>
public sealed class MessageMetadata
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("v")] public int Version { get; set; } = CurrentVersion;
    [JsonPropertyName("env")] public Envelope Envelope { get; set; } = new();
    [JsonPropertyName("body")] public BodyPart Body { get; set; } = new();
    /// <summary>RFC 5256 §2.1 base subject (decoded, normalised), for SORT SUBJECT and THREAD.</summary>
    [JsonPropertyName("bsub")] public string BaseSubject { get; set; } = "";
    /// <summary>The Date header as seconds since the epoch (UTC); null if absent or unparseable (SORT then uses INTERNALDATE).</summary>
    [JsonPropertyName("date")] public long? SentDate { get; set; }
    /// <summary>RFC 8970 preview: up to 200 characters of the first text part, whitespace collapsed.</summary>
    [JsonPropertyName("pv")] public string Preview { get; set; } = "";
    /// <summary>Decoded values of the header fields SEARCH and SORT read (From, To, Cc, Bcc, Subject, ...), lower-case names.</summary>
    [JsonPropertyName("hdr")] public Dictionary<string, string> SearchHeaders { get; set; } = [];
    /// <summary>Message-ID, In-Reply-To and References (msg-ids without brackets) for THREAD=REFERENCES.</summary>
    [JsonPropertyName("mid")] public string? MessageId { get; set; }
    [JsonPropertyName("irt")] public List<string> InReplyTo { get; set; } = [];
    [JsonPropertyName("refs")] public List<string> References { get; set; } = [];
    [JsonPropertyName("att")] public bool HasAttachments { get; set; }
    /// <summary>True when the parser had to guess (broken MIME): the structure is best effort.</summary>
    [JsonPropertyName("bad")] public bool Malformed { get; set; }
}

/// <summary>RFC 9051 §7.5.2 ENVELOPE. Strings are the header values as sent (unfolded), not decoded.</summary>
public sealed class Envelope
{
    [JsonPropertyName("date")] public string? Date { get; set; }
    [JsonPropertyName("subj")] public string? Subject { get; set; }
    [JsonPropertyName("from")] public List<EnvelopeAddress>? From { get; set; }
    [JsonPropertyName("sender")] public List<EnvelopeAddress>? Sender { get; set; }
    [JsonPropertyName("rt")] public List<EnvelopeAddress>? ReplyTo { get; set; }
    [JsonPropertyName("to")] public List<EnvelopeAddress>? To { get; set; }
    [JsonPropertyName("cc")] public List<EnvelopeAddress>? Cc { get; set; }
    [JsonPropertyName("bcc")] public List<EnvelopeAddress>? Bcc { get; set; }
    [JsonPropertyName("irt")] public string? InReplyTo { get; set; }
    [JsonPropertyName("mid")] public string? MessageId { get; set; }

    /// <summary>The IMAP ENVELOPE text, once <see cref="BodyStructureFormatter.Envelope"/> made it (never serialised).</summary>
    [JsonIgnore] internal string? Formatted { get; set; }
}

/// <summary>
/// One ENVELOPE address (name, adl, mailbox, host). A group is a start marker (host null, mailbox
/// the group name) and an end marker (mailbox and host null), as RFC 9051 §7.5.2 describes.
/// </summary>
public sealed record EnvelopeAddress(
    [property: JsonPropertyName("n")] string? Name,
    [property: JsonPropertyName("a")] string? Adl,
    [property: JsonPropertyName("m")] string? Mailbox,
    [property: JsonPropertyName("h")] string? Host)
{
    /// <summary>The host of an address written without a domain (<c>From: d</c>), as Dovecot writes it.</summary>
    public const string MissingDomain = "MISSING_DOMAIN";
}

/// <summary>One MIME part, with what BODYSTRUCTURE reports and where its bytes are.</summary>
public sealed class BodyPart
{
    [JsonPropertyName("t")] public string Type { get; set; } = "text";
    [JsonPropertyName("s")] public string Subtype { get; set; } = "plain";
    [JsonPropertyName("p")] public List<string[]> Parameters { get; set; } = [];
    [JsonPropertyName("id")] public string? ContentId { get; set; }
    [JsonPropertyName("desc")] public string? Description { get; set; }
    [JsonPropertyName("enc")] public string Encoding { get; set; } = "7bit";
    [JsonPropertyName("md5")] public string? Md5 { get; set; }
    [JsonPropertyName("disp")] public string? Disposition { get; set; }
    [JsonPropertyName("dp")] public List<string[]>? DispositionParameters { get; set; }
    [JsonPropertyName("lang")] public List<string>? Language { get; set; }
    [JsonPropertyName("loc")] public string? Location { get; set; }

    /// <summary>Offset of the part's header (its MIME header, or the message header for the root).</summary>
    [JsonPropertyName("ho")] public long HeaderOffset { get; set; }
    /// <summary>Octets of the header including the blank line that ends it.</summary>
    [JsonPropertyName("hl")] public long HeaderLength { get; set; }
    [JsonPropertyName("bo")] public long BodyOffset { get; set; }
    /// <summary>Body size in octets as transmitted (RFC 9051 body-fld-octets).</summary>
    [JsonPropertyName("o")] public long Octets { get; set; }
    /// <summary>Lines of the body (reported for text/* and message/rfc822).</summary>
    [JsonPropertyName("l")] public long Lines { get; set; }

    [JsonPropertyName("parts")] public List<BodyPart>? Parts { get; set; }
    /// <summary>For message/rfc822 (and message/global): the enclosed message.</summary>
    [JsonPropertyName("menv")] public Envelope? MessageEnvelope { get; set; }
    [JsonPropertyName("mbody")] public BodyPart? MessageBody { get; set; }

    [JsonIgnore] public bool IsMultipart => Parts is not null;
    [JsonIgnore] public bool IsMessage => MessageBody is not null;
}

/// <summary>
/// Source-generated serialisation (a mailbox listing reads thousands of these). Each MIME level is two JSON
/// levels (the part and its list of parts), so the depth allows twice the largest MIME depth the
/// configuration accepts: at the default of 64 a message nested to the default MIME limit (32) could not be stored.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, MaxDepth = MetadataCodec.MaxJsonDepth)]
[JsonSerializable(typeof(MessageMetadata))]
internal sealed partial class MetadataJsonContext : JsonSerializerContext;

/// <summary>Serialises metadata: UTF-8 JSON, every version readable.</summary>
public static class MetadataCodec
{
    /// <summary>Deepest JSON the metadata reaches: two levels per MIME level, up to the configurable limit of 256, and the envelope's own.</summary>
    public const int MaxJsonDepth = (2 * 256) + 16;

    public static byte[] Serialize(MessageMetadata metadata) => JsonSerializer.SerializeToUtf8Bytes(metadata, MetadataJsonContext.Default.MessageMetadata);

    public static MessageMetadata Deserialize(ReadOnlySpan<byte> bytes)
    {
        var metadata = JsonSerializer.Deserialize(bytes, MetadataJsonContext.Default.MessageMetadata) ?? throw new JsonException("empty metadata");
        if (metadata.Version is < 1 or > MessageMetadata.CurrentVersion)
        {
            throw new JsonException($"metadata version {metadata.Version} is not known to this program");
        }

        // Version upgrades happen here, oldest first, when a later version changes a meaning.
        return metadata;
    }
}
