using System.Text.Json;

namespace Sealpost.Mime;

/// <summary>
/// One message's metadata as decrypted: the JSON <see cref="MetadataCodec"/> wrote, parsed in full only
/// when something needs the whole of it (ENVELOPE, BODYSTRUCTURE, SORT). SEARCH reads the few fields it
/// compares straight from the JSON: a first SEARCH over 100,000 messages then allocates one small array per
/// message instead of an object graph, which had made a third of that SEARCH garbage collection.
/// Once parsed, the JSON is let go and every read answers from the parsed form.
/// </summary>
public sealed class MetadataView
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MetadataCodec.MaxJsonDepth };
    private byte[]? _json;
    private readonly int _start;
    private readonly int _length;
    private MessageMetadata? _parsed;
    private bool _malformed;

    public MetadataView(byte[] json)
        : this(json, 0, json.Length)
    {
    }

    /// <summary>The JSON is <paramref name="length"/> bytes of <paramref name="buffer"/> from <paramref name="start"/> (decrypted in place, where its ciphertext was).</summary>
    public MetadataView(byte[] buffer, int start, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length - start);
        (_json, _start, _length) = (buffer, start, length);
    }

    public MetadataView(MessageMetadata parsed) => _parsed = parsed;

    /// <summary>The parsed metadata; throws <see cref="JsonException"/> if the plaintext is not metadata.</summary>
    public MessageMetadata Value => Parsed ?? throw new JsonException("the plaintext is not message metadata");

    /// <summary>The parsed metadata; null if the plaintext is not metadata (it authenticated, so only a bug or a format change makes this).</summary>
    public MessageMetadata? Parsed
    {
        get
        {
            if (Volatile.Read(ref _parsed) is { } parsed)
            {
                return parsed;
            }

            if (Json() is not { } json)
            {
                return Volatile.Read(ref _parsed);
            }

            try
            {
                parsed = MetadataCodec.Deserialize(json.Span);
            }
            catch (JsonException)
            {
                _malformed = true;
                return null;
            }

            Volatile.Write(ref _parsed, parsed); // before the JSON goes: a reader that finds no JSON finds this
            Volatile.Write(ref _json, null);
            return parsed;
        }
    }

    /// <summary>
    /// The decoded value of a header field the analyser records for SEARCH (<see cref="MessageMetadata.SearchHeaders"/>,
    /// lower-case name); false if the message has none.
    /// </summary>
    public bool TryGetSearchHeader(string field, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        value = null;
        if (Json() is not { } json)
        {
            return Volatile.Read(ref _parsed) is { } parsed && parsed.SearchHeaders.TryGetValue(field, out value);
        }

        try
        {
            var reader = new Utf8JsonReader(json.Span, ReaderOptions);
            if (Enter(ref reader, "hdr"u8) && reader.TokenType == JsonTokenType.StartObject && Seek(ref reader, field) && reader.TokenType == JsonTokenType.String)
            {
                value = reader.GetString();
            }
        }
        catch (JsonException)
        {
            value = null; // not metadata: the full parse reports it
        }

        return value is not null;
    }

    /// <summary>The ENVELOPE addresses of From, To, Cc or Bcc (<paramref name="field"/> lower-case); null if absent.</summary>
    public IReadOnlyList<EnvelopeAddress>? Addresses(string field)
    {
        if (Json() is not { } json)
        {
            return Volatile.Read(ref _parsed) is not { } parsed ? null : field switch
            {
                "from" => parsed.Envelope.From,
                "to" => parsed.Envelope.To,
                "cc" => parsed.Envelope.Cc,
                "bcc" => parsed.Envelope.Bcc,
                _ => null,
            };
        }

        if (field is not ("from" or "to" or "cc" or "bcc"))
        {
            return null;
        }

        try
        {
            return ReadAddresses(json.Span, field);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static List<EnvelopeAddress>? ReadAddresses(ReadOnlySpan<byte> json, string field)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!Enter(ref reader, "env"u8) || reader.TokenType != JsonTokenType.StartObject || !Seek(ref reader, field) || reader.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }

        var addresses = new List<EnvelopeAddress>(1);
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            string? name = null, adl = null, mailbox = null, host = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var which = reader.ValueTextEquals("m"u8) ? 'm' : reader.ValueTextEquals("h"u8) ? 'h' : reader.ValueTextEquals("n"u8) ? 'n' : reader.ValueTextEquals("a"u8) ? 'a' : ' ';
                reader.Read();
                if (which == ' ' || reader.TokenType != JsonTokenType.String)
                {
                    reader.Skip();
                    continue;
                }

                var text = reader.GetString();
                switch (which)
                {
                    case 'm': mailbox = text; break;
                    case 'h': host = text; break;
                    case 'n': name = text; break;
                    default: adl = text; break;
                }
            }

            addresses.Add(new EnvelopeAddress(name, adl, mailbox, host));
        }

        return addresses;
    }

    /// <summary>The Date header as seconds since the epoch (<see cref="MessageMetadata.SentDate"/>); null if absent or unparseable.</summary>
    public long? SentDate
    {
        get
        {
            if (Json() is not { } json)
            {
                return Volatile.Read(ref _parsed)?.SentDate;
            }

            try
            {
                var reader = new Utf8JsonReader(json.Span, ReaderOptions);
                return Enter(ref reader, "date"u8) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seconds) ? seconds : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    /// <summary>The RFC 5256 base subject (<see cref="MessageMetadata.BaseSubject"/>); empty if absent.</summary>
    public string BaseSubject
    {
        get
        {
            if (Json() is not { } json)
            {
                return Volatile.Read(ref _parsed)?.BaseSubject ?? "";
            }

            try
            {
                var reader = new Utf8JsonReader(json.Span, ReaderOptions);
                return Enter(ref reader, "bsub"u8) && reader.TokenType == JsonTokenType.String ? reader.GetString() ?? "" : "";
            }
            catch (JsonException)
            {
                return "";
            }
        }
    }

    /// <summary>The Date header as sent (ENVELOPE's date); null if absent.</summary>
    public string? EnvelopeDate
    {
        get
        {
            if (Json() is not { } json)
            {
                return Volatile.Read(ref _parsed)?.Envelope.Date;
            }

            try
            {
                var reader = new Utf8JsonReader(json.Span, ReaderOptions);
                return Enter(ref reader, "env"u8) && reader.TokenType == JsonTokenType.StartObject && Seek(ref reader, "date"u8)
                       && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    /// <summary>The JSON while it is the only form (not parsed yet, not malformed).</summary>
    private ReadOnlyMemory<byte>? Json()
    {
        if (_malformed || Volatile.Read(ref _json) is not { } buffer)
        {
            return null; // spelt out: in a conditional expression, null would convert to an empty memory, not to "none"
        }

        return buffer.AsMemory(_start, _length);
    }

    /// <summary>From the start of the document: moves onto the value of a top-level property.</summary>
    private static bool Enter(ref Utf8JsonReader reader, scoped ReadOnlySpan<byte> name) =>
        reader.Read() && reader.TokenType == JsonTokenType.StartObject && Seek(ref reader, name);

    private static bool Seek(ref Utf8JsonReader reader, string name)
    {
        if (name.Length > 64)
        {
            return false; // no recorded field has a name this long
        }

        Span<byte> utf8 = stackalloc byte[64 * 3];
        return Seek(ref reader, utf8[..System.Text.Encoding.UTF8.GetBytes(name, utf8)]);
    }

    /// <summary>Inside an object (on its start): moves onto the value of the named property, skipping the others.</summary>
    private static bool Seek(ref Utf8JsonReader reader, scoped ReadOnlySpan<byte> name)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var found = reader.ValueTextEquals(name);
            reader.Read();
            if (found)
            {
                return true;
            }

            reader.Skip();
        }

        return false;
    }
}
