using System.Text.Json;
using System.Text.Json.Serialization;
using Sealpost.Core.Audit;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Domain.Audit;

/// <summary>A chain head as exported to auditors: enough to detect a rewritten or truncated trail later.</summary>
public sealed record AuditHead(
    [property: JsonPropertyName("seq")] long Sequence,
    [property: JsonPropertyName("hash")] string Hash,
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("publicKey")] string PublicKey,
    [property: JsonPropertyName("signature")] string Signature)
{
    public static AuditHead From(AuditCheckpoint c) =>
        new(c.Sequence, Convert.ToHexString(c.Hash), c.Time, c.Node, Convert.ToHexString(c.PublicKey), Convert.ToHexString(c.Signature));

    public AuditCheckpoint ToCheckpoint() =>
        new(Sequence, Convert.FromHexString(Hash), Time, Node, Convert.FromHexString(PublicKey), Convert.FromHexString(Signature));

    /// <summary>Heads files hold one JSON head per line (what <c>audit heads</c> and the collector receive).</summary>
    public static IReadOnlyList<AuditHead> ParseLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => JsonSerializer.Deserialize<AuditHead>(l) ?? throw new FormatException("empty head"))
            .ToList();

    public string ToJsonLine() => JsonSerializer.Serialize(this);
}

/// <summary>The first thing wrong with a trail, or success.</summary>
public sealed record AuditVerification(bool Ok, long Records, long? BadSequence, string Message);

/// <summary>
/// Checks a trail: sequence numbers without gaps, each record's previous hash and own hash, every
/// stored checkpoint's signature under the expected audit key and its place in the chain, and every
/// exported head given. A changed field, a removed, reordered or truncated record, and a chain
/// recomputed after a head was exported are each reported with the record where it shows.
/// </summary>
public static class AuditVerifier
{
    private const int Page = 5000;

    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, byte[] auditPublicKey, IReadOnlyList<AuditHead> heads, CancellationToken ct = default)
    {
        var wanted = new Dictionary<long, List<(string Source, AuditCheckpoint Head)>>();
        void Want(long seq, string source, AuditCheckpoint c)
        {
            if (!wanted.TryGetValue(seq, out var list))
            {
                wanted[seq] = list = [];
            }

            list.Add((source, c));
        }

        foreach (var c in await store.ListCheckpointsAsync(ct))
        {
            if (!c.PublicKey.AsSpan().SequenceEqual(auditPublicKey) || !AuditSigner.Verify(c.PublicKey, AuditCheckpoint.SignedBytes(c.Sequence, c.Hash, c.Time), c.Signature))
            {
                return new(false, 0, c.Sequence, $"checkpoint at record {c.Sequence} is not signed by this deployment's audit key");
            }

            Want(c.Sequence, "stored checkpoint", c);
        }

        foreach (var h in heads)
        {
            var c = h.ToCheckpoint();
            if (!c.PublicKey.AsSpan().SequenceEqual(auditPublicKey))
            {
                return new(false, 0, c.Sequence, $"exported head at record {c.Sequence} was signed by another audit key than this deployment's");
            }

            if (!AuditSigner.Verify(c.PublicKey, AuditCheckpoint.SignedBytes(c.Sequence, c.Hash, c.Time), c.Signature))
            {
                return new(false, 0, c.Sequence, $"exported head at record {c.Sequence} has a bad signature");
            }

            Want(c.Sequence, "exported head", c);
        }

        long expected = 1;
        var previous = AuditRecord.GenesisHash;
        var first = (await store.ReadAsync(1, 1, ct)).FirstOrDefault();
        long archived = 0;
        if (first is not null && first.Sequence > 1)
        {
            // Records before the first one were archived: a signed checkpoint must stand at the
            // boundary, and the first record left must follow it.
            var boundary = first.Sequence - 1;
            if (!wanted.TryGetValue(boundary, out var atBoundary) || !atBoundary.Any(c => c.Source == "stored checkpoint"))
            {
                return new(false, 0, 1, $"records 1 to {boundary} are missing and no signed archive boundary covers them");
            }

            var boundaryHash = atBoundary.First(c => c.Source == "stored checkpoint").Head.Hash;
            if (atBoundary.Any(c => !c.Head.Hash.AsSpan().SequenceEqual(boundaryHash)))
            {
                return new(false, 0, boundary, $"the exported head at record {boundary} differs from the archive boundary");
            }

            archived = boundary;
            expected = first.Sequence;
            previous = boundaryHash;
            // Checkpoints and heads inside the archive are checked against the archive file, not here.
            foreach (var seq in wanted.Keys.Where(k => k <= boundary).ToList())
            {
                wanted.Remove(seq);
            }
        }

        while (true)
        {
            var page = await store.ReadAsync(expected, Page, ct);
            foreach (var r in page)
            {
                if (r.Sequence != expected)
                {
                    return new(false, expected - 1, expected, $"record {expected} is missing (the next one is {r.Sequence})");
                }

                if (!r.PreviousHash.AsSpan().SequenceEqual(previous))
                {
                    return new(false, expected - 1, r.Sequence, $"record {r.Sequence} does not follow record {r.Sequence - 1} (removed, reordered or rewritten)");
                }

                if (!AuditRecord.ComputeHash(r.Sequence, r.Node, r.Event, r.PreviousHash).AsSpan().SequenceEqual(r.Hash))
                {
                    return new(false, expected - 1, r.Sequence, $"record {r.Sequence} was changed (its hash does not match its fields)");
                }

                if (wanted.Remove(r.Sequence, out var checks))
                {
                    foreach (var (source, c) in checks)
                    {
                        if (!c.Hash.AsSpan().SequenceEqual(r.Hash))
                        {
                            return new(false, expected - 1, r.Sequence, $"record {r.Sequence} differs from the {source} signed at {c.Time:u} (the chain was rewritten)");
                        }
                    }
                }

                previous = r.Hash;
                expected++;
            }

            if (page.Count < Page)
            {
                break;
            }
        }

        if (wanted.Count > 0)
        {
            var (seq, checks) = wanted.MinBy(w => w.Key);
            return new(false, expected - 1, expected, $"the trail ends at record {expected - 1} but a {checks[0].Source} names record {seq} (truncated)");
        }

        return archived == 0
            ? new(true, expected - 1, null, $"{expected - 1} records verified")
            : new(true, expected - 1 - archived, null, $"records {archived + 1} to {expected - 1} verified after the archive boundary at {archived}");
    }
}
