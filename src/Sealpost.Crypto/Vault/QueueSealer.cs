using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sealpost.Crypto.Vault;

/// <summary>A message for other organisations with its envelope (RFC 3461 DSN and RFC 8689 REQUIRETLS kept for the outbound side).</summary>
public sealed record OutboundMessage(
    [property: JsonPropertyName("from")] string ReturnPath,
    [property: JsonPropertyName("to")] IReadOnlyList<string> Recipients,
    [property: JsonPropertyName("dsn")] IReadOnlyDictionary<string, string?> MailParameters,
    [property: JsonPropertyName("rcptp")] IReadOnlyList<IReadOnlyDictionary<string, string?>> RecipientParameters,
    [property: JsonPropertyName("msg")] byte[] Message);

/// <summary>
/// Seals queue entries with the keystore's queue key (AES-256-GCM). Mail leaving the organisation
/// is plaintext to the outbound MTA by nature; at rest it is sealed like everything else.
/// </summary>
public sealed class QueueSealer(Keystore keystore)
{
    private static readonly byte[] Label = "sealpost/queue/v1"u8.ToArray();

    public byte[] Seal(OutboundMessage message) => Aead.Seal(keystore.QueueKey, JsonSerializer.SerializeToUtf8Bytes(message), Label);

    public OutboundMessage Open(byte[] sealedMessage) =>
        JsonSerializer.Deserialize<OutboundMessage>(Aead.Open(keystore.QueueKey, sealedMessage, Label)) ?? throw new JsonException("empty queue entry");
}
