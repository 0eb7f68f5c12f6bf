using System.Text.Json;
using System.Text.Json.Serialization;
using Sealpost.Core.Storage;

namespace Sealpost.Crypto.Vault;

/// <summary>A message for other organisations with its envelope (RFC 3461 DSN and RFC 8689 REQUIRETLS kept for the outbound side).</summary>
public sealed record OutboundMessage(
    [property: JsonPropertyName("from")] string ReturnPath,
    [property: JsonPropertyName("to")] IReadOnlyList<string> Recipients,
    [property: JsonPropertyName("dsn")] IReadOnlyDictionary<string, string?> MailParameters,
    [property: JsonPropertyName("rcptp")] IReadOnlyList<IReadOnlyDictionary<string, string?>> RecipientParameters,
    [property: JsonPropertyName("msg")] byte[] Message);

/// <summary>Where one recipient of a queued message stands.</summary>
public enum RecipientState { Pending, Delivered, Failed, Expired }

/// <summary>One recipient's state, the last reply it got (e.g. "451 4.7.1 try later") and the connection it was tried over.</summary>
public sealed record RecipientProgress(
    [property: JsonPropertyName("rcpt")] string Address,
    [property: JsonPropertyName("state")] RecipientState State,
    [property: JsonPropertyName("reply")] string? LastReply = null,
    [property: JsonPropertyName("host")] string? Host = null,
    [property: JsonPropertyName("tls")] string? Tls = null,
    [property: JsonPropertyName("at")] DateTimeOffset? At = null);

/// <summary>What delivery of one queued message has come to: each recipient, whether the sender was warned of a delay.</summary>
public sealed record QueueProgress(
    [property: JsonPropertyName("rcpts")] IReadOnlyList<RecipientProgress> Recipients,
    [property: JsonPropertyName("warned")] bool DelayWarned = false,
    [property: JsonPropertyName("err")] string? LastError = null);

/// <summary>
/// Seals queue entries with the keystore's queue key (AES-256-GCM), bound to the entry's row id: a
/// sealed envelope or progress record copied onto another row, or swapped between rows, does not
/// open. Mail leaving the organisation is plaintext to the outbound MTA by nature; at rest it is
/// sealed like everything else.
/// </summary>
public sealed class QueueSealer(Keystore keystore)
{
    private static readonly byte[] LegacyLabel = "sealpost/queue/v1"u8.ToArray();
    private static readonly byte[] MessageLabel = "sealpost/queue/v2/message"u8.ToArray();
    private static readonly byte[] ProgressLabel = "sealpost/queue/v2/progress"u8.ToArray();

    public byte[] Seal(long id, OutboundMessage message) =>
        Aead.Seal(keystore.QueueKey, JsonSerializer.SerializeToUtf8Bytes(message), Aead.Context(MessageLabel, id, 0));

    public OutboundMessage Open(QueuedMessage entry) =>
        JsonSerializer.Deserialize<OutboundMessage>(Aead.Open(keystore.QueueKey, entry.Sealed,
            entry.SealVersion == 1 ? LegacyLabel : Aead.Context(MessageLabel, entry.Id, 0))) ?? throw new JsonException("empty queue entry");

    public byte[] SealProgress(long id, QueueProgress progress) =>
        Aead.Seal(keystore.QueueKey, JsonSerializer.SerializeToUtf8Bytes(progress), Aead.Context(ProgressLabel, id, 0));

    /// <summary>The entry's progress, or every recipient pending when it has none yet.</summary>
    public QueueProgress OpenProgress(QueuedMessage entry, OutboundMessage message) =>
        entry.Progress is null
            ? new QueueProgress(message.Recipients.Select(r => new RecipientProgress(r, RecipientState.Pending)).ToList())
            : JsonSerializer.Deserialize<QueueProgress>(Aead.Open(keystore.QueueKey, entry.Progress, Aead.Context(ProgressLabel, entry.Id, 0)))
              ?? throw new JsonException("empty queue progress");
}
