using System.Globalization;
using System.Text;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap.Protocol;
using Sealpost.Mime;

namespace Sealpost.Imap;

// FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY). ENVELOPE, BODYSTRUCTURE and section offsets
// come from the sealed metadata, never from re-parsing; a section decrypts only the chunks it covers.
public sealed partial class ImapSession
{
    private async Task<After> FetchAsync(string tag, FetchArguments arguments, bool uid, CancellationToken ct)
    {
        var (set, items, changedSince, vanished) = arguments;
        if (vanished && (!uid || !_qresync || changedSince is null))
        {
            // RFC 7162 §3.2.6: only UID FETCH, only with QRESYNC enabled, only with CHANGEDSINCE.
            throw new ImapParseException("VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC");
        }

        if (changedSince is not null || items.Any(i => i.Kind == FetchKind.ModSeq))
        {
            EnableCondStore(); // CONDSTORE-enabling (RFC 7162 §3.1)
        }

        if (_condStore && !items.Any(i => i.Kind == FetchKind.ModSeq) && (changedSince is not null || items.Any(i => i.Kind == FetchKind.Flags)))
        {
            items.Add(new FetchItem(FetchKind.ModSeq));
        }
        var view = _selected!;
        await ReportChangesAsync(allowExpunge: uid, force: false, ct);
        var uids = ResolveSet(set, uid);
        if (uid && !items.Any(i => i.Kind == FetchKind.Uid))
        {
            items.Insert(0, new FetchItem(FetchKind.Uid)); // RFC 9051 §6.4.9: UID FETCH always returns UID
        }

        if (uids.Count == 0)
        {
            Ok(tag, "FETCH completed");
            return After.Next;
        }

        if (vanished)
        {
            // Expunged since CHANGEDSINCE, among the UIDs asked about (the view no longer holds them).
            var changes = await SelMail.GetChangesAsync(view.MailboxId, changedSince!.Value, ct);
            var gone = (changes.IsComplete ? changes.Expunged : UidsMissingUpTo(view.MaxUid, view))
                .Where(u => set.Contains(u, view.MaxUid)).Order().ToList();
            if (gone.Count > 0)
            {
                Send(new VanishedResponse(gone, Earlier: true));
            }
        }

        var records = await RecordsAsync(view.MailboxId, uids, ct);
        // Messages this view still numbers but another session expunged (RFC 2180 §4.1; RFC 9051 §7.1 EXPUNGEISSUED).
        var expungedMeanwhile = records.Count < uids.Count;
        if (changedSince is { } since)
        {
            records = records.Where(r => r.ModSeq > since).ToList();
        }

        // RFC 9051 §6.4.5: fetching body text (not PEEK) sets \Seen.
        var addFlags = false;
        if (!view.ReadOnly && items.Any(i => i.SetsSeen))
        {
            var unseen = records.Where(r => !r.Flags.HasFlag(MessageFlags.Seen)).Select(r => r.Uid).ToList();
            if (unseen.Count > 0)
            {
                var change = await SelMail.ChangeFlagsAsync(view.MailboxId, unseen, new FlagChange(FlagOperation.Add, MessageFlags.Seen, []), ct);
                var updated = change.Updated.ToDictionary(u => u.Uid);
                records = records.Select(r => updated.TryGetValue(r.Uid, out var u) ? r with { Flags = u.Flags, ModSeq = u.ModSeq } : r).ToList();
                foreach (var u in change.Updated)
                {
                    view.SelfReported[u.Uid] = u.ModSeq;
                }

                addFlags = !items.Any(i => i.Kind == FetchKind.Flags);
            }
        }

        expungedMeanwhile |= !await SendFetchResponsesAsync(records, items, addFlags, ct);
        if (expungedMeanwhile)
        {
            // What still exists was sent; the rest is gone, and the EXPUNGE follows at the next command that may say so.
            Ok(tag, "FETCH completed; some messages were expunged meanwhile", ResponseCode.ExpungeIssued);
            return After.Next;
        }

        Ok(tag, "FETCH completed");
        return After.Next;
    }

    /// <summary>
    /// The untagged FETCH responses for these messages (FETCH, and NOTIFY's MessageNew with fetch attributes).
    /// False when a message was expunged by another session while this ran; it is left out.
    /// </summary>
    private async Task<bool> SendFetchResponsesAsync(List<MessageRecord> records, List<FetchItem> items, bool addFlags, CancellationToken ct)
    {
        var complete = true;
        var view = _selected!;
        var needsMetadata = items.Any(i => i.Kind is FetchKind.Envelope or FetchKind.BodyStructure or FetchKind.Body or FetchKind.Preview or FetchKind.ThreadId
            or FetchKind.Binary or FetchKind.BinarySize or FetchKind.Rfc822Header or FetchKind.Rfc822Text
            || (i.Kind == FetchKind.Section && (i.Part is not null || i.Text != SectionText.Whole)));
        var needsContent = items.Any(i => i.Kind is FetchKind.Section or FetchKind.Binary or FetchKind.BinarySize or FetchKind.Rfc822 or FetchKind.Rfc822Header or FetchKind.Rfc822Text);
        MetadataView?[]? metadata = null;
        if (needsMetadata)
        {
            metadata = await SelMail.MetadataForAsync(view.MailboxId, records, ct);
        }

        for (var index = 0; index < records.Count; index++)
        {
            var record = records[index];
            var sequence = view.SequenceOf(record.Uid);
            if (sequence == 0)
            {
                continue;
            }

            // The whole response is prepared before its first octet goes out: a failure leaves no half-written FETCH.
            var parts = new List<(string, ImapValue)>(items.Count + 2);
            var meta = metadata?[index]?.Parsed;
            OpenedMessage? opened = null;
            try
            {
                if (needsContent)
                {
                    opened = await SelMail.OpenAsync(record, ct);
                }

                foreach (var item in items)
                {
                    parts.Add(await ItemAsync(item, record, meta, opened, ct));
                }

                if (addFlags)
                {
                    // A STORE without .SILENT in the same command changed them (RFC 9051 §6.4.6).
                    parts.Add(("FLAGS", ImapValue.Formatted(await FlagsTextAsync(record, ct))));
                    if (_condStore)
                    {
                        parts.Add(("MODSEQ", ImapValue.List(ImapValue.Number((ulong)record.ModSeq))));
                    }
                }
            }
            catch (Core.SealpostException ex) when (ex.Kind == Core.ErrorKind.NotFound)
            {
                complete = false;
                continue;
            }
            finally
            {
                opened?.Dispose();
            }

            Send(new FetchResponse(sequence, parts));
            if (needsContent)
            {
                await FlushAsync(ct); // bodies go out message by message, not buffered whole
            }
        }

        return complete;
    }

    private Task<string> FlagsTextAsync(MessageRecord record, CancellationToken ct) =>
        FlagsTextAsync(record.Uid, record.Flags, record.KeywordIds, ct);

    private async Task<string> FlagsTextAsync(uint uid, MessageFlags flags, IReadOnlyList<int> keywordIds, CancellationToken ct)
    {
        var names = await SelKeywords.NamesAsync(keywordIds, ct);
        AnnounceNewKeywords(); // before the FETCH that uses one (a FETCH's parts go out after this)
        return Flags.Format(flags, names, IsRecent(uid));
    }

    /// <summary>FLAGS and PERMANENTFLAGS for the selected mailbox, listing the account's keywords.</summary>
    private void SendFlags(SelectedMailbox view)
    {
        var names = view.Granted?.Keywords ?? _keywords!;
        view.AnnouncedKeywords = names.Count;
        List<string> flags = [.. Flags.System.Select(s => s.Name), .. names.All];
        Send(new FlagsResponse(flags));
        if (view.ReadOnly)
        {
            Untagged("OK", ResponseCode.PermanentFlags(""), "Read-only mailbox");
        }
        else
        {
            Untagged("OK", ResponseCode.PermanentFlags(string.Join(' ', flags) + " \\*"), "Flags permitted");
        }
    }

    /// <summary>
    /// A keyword this session or another one made since the last FLAGS: every session with the mailbox
    /// selected gets FLAGS (and PERMANENTFLAGS) again before a FETCH that shows it (RFC 9051 §7.3.5).
    /// </summary>
    private void AnnounceNewKeywords()
    {
        if (_selected is { } view && view.AnnouncedKeywords != SelKeywords.Count) // checked per FETCH line: a count, not the list
        {
            SendFlags(view);
        }
    }

    /// <summary>One FETCH data item of a message (RFC 9051 §7.5.2): its name and value.</summary>
    private async Task<(string, ImapValue)> ItemAsync(FetchItem item, MessageRecord record, MessageMetadata? meta, OpenedMessage? opened, CancellationToken ct)
    {
        switch (item.Kind)
        {
            case FetchKind.Uid:
                return ("UID", ImapValue.Number(record.Uid));
            case FetchKind.Flags:
                return ("FLAGS", ImapValue.Formatted(await FlagsTextAsync(record, ct)));
            case FetchKind.InternalDate:
                return ("INTERNALDATE", ImapValue.String(ImapDates.FormatDateTime(record.InternalDate)));
            case FetchKind.Rfc822Size:
                return ("RFC822.SIZE", ImapValue.Number((ulong)record.Size));
            case FetchKind.ModSeq:
                return ("MODSEQ", ImapValue.List(ImapValue.Number((ulong)record.ModSeq)));
            case FetchKind.EmailId:
                return ("EMAILID", ImapValue.List(ImapValue.Atom(EmailId(record))));
        }

        var whole = item.Kind == FetchKind.Rfc822 || (item.Kind == FetchKind.Section && item.Part is null && item.Text == SectionText.Whole);
        if (meta is null && !whole)
        {
            throw No("The message cannot be opened", ResponseCode.Unavailable);
        }

        switch (item.Kind)
        {
            case FetchKind.Envelope when meta is not null:
                return ("ENVELOPE", ImapValue.Formatted(BodyStructureFormatter.Envelope(meta.Envelope)));
            case FetchKind.BodyStructure when meta is not null:
                return ("BODYSTRUCTURE", ImapValue.Formatted(BodyStructureFormatter.BodyStructure(meta.Body)));
            case FetchKind.Body when meta is not null:
                return ("BODY", ImapValue.Formatted(BodyStructureFormatter.BodyStructure(meta.Body, extensions: false)));
            case FetchKind.Preview when meta is not null:
                return ("PREVIEW", ImapValue.String(meta.Preview));
            case FetchKind.ThreadId when meta is not null:
                return ("THREADID", ImapValue.List(ImapValue.Atom(ThreadId(meta, record))));
        }

        var content = whole ? await opened!.ReadAllAsync(ct) : await SectionBytesAsync(item, meta!, opened!, ct);
        var label = item.Kind switch
        {
            FetchKind.Rfc822 => "RFC822",
            FetchKind.Rfc822Header => "RFC822.HEADER",
            FetchKind.Rfc822Text => "RFC822.TEXT",
            FetchKind.Binary => "BINARY[" + item.SectionName + "]",
            FetchKind.BinarySize => "BINARY.SIZE[" + item.SectionName + "]",
            _ => "BODY[" + item.SectionName + "]",
        };
        if (item.Kind == FetchKind.BinarySize)
        {
            return (label, ImapValue.Number((ulong)content.Length));
        }

        if (item.PartialStart is { } start)
        {
            label += "<" + start.ToString(CultureInfo.InvariantCulture) + ">";
            var from = (int)Math.Min(start, content.Length);
            var count = (int)Math.Min(item.PartialCount!.Value, content.Length - from);
            content = content.AsMemory(from, count).ToArray();
        }

        // RFC 3516 §4.3: BINARY content with NUL goes out as literal8.
        var literal8 = item.Kind == FetchKind.Binary && content.AsSpan().IndexOf((byte)0) >= 0;
        if (!literal8 && content.AsSpan().IndexOf((byte)0) >= 0)
        {
            // A literal may not carry NUL (RFC 9051 §4.3): BODY[] and RFC822 of binary content send 0x80 in
            // its place, as Dovecot does; BINARY[] is how a client gets the octets exactly.
            content = content.ToArray();
            content.AsSpan().Replace((byte)0, (byte)0x80);
        }

        return (label, ImapValue.Literal(content, binary: literal8));
    }

    /// <summary>The octets a section names (RFC 9051 §6.4.5), located by the metadata's offsets.</summary>
    private async Task<byte[]> SectionBytesAsync(FetchItem item, MessageMetadata meta, OpenedMessage opened, CancellationToken ct)
    {
        var root = meta.Body;
        switch (item.Kind)
        {
            case FetchKind.Rfc822:
                return await opened.ReadAllAsync(ct);
            case FetchKind.Rfc822Header:
                return await ReadAsync(opened, root.HeaderOffset, root.HeaderLength, ct);
            case FetchKind.Rfc822Text:
                return await ReadAsync(opened, root.BodyOffset, root.Octets, ct);
        }

        if (item.Part is null)
        {
            return item.Text switch
            {
                SectionText.Whole => await opened.ReadAllAsync(ct),
                SectionText.Header => await ReadAsync(opened, root.HeaderOffset, root.HeaderLength, ct),
                SectionText.Text => await ReadAsync(opened, root.BodyOffset, root.Octets, ct),
                _ => FilterHeader(await ReadAsync(opened, root.HeaderOffset, root.HeaderLength, ct), item.Fields!, item.Text == SectionText.HeaderFieldsNot),
            };
        }

        var part = FindPart(root, item.Part);
        if (part is null)
        {
            // RFC 9051 §6.4.5: a part that does not exist is an empty string, not an error.
            return [];
        }

        if (item.Kind is FetchKind.Binary or FetchKind.BinarySize)
        {
            if (part.IsMultipart)
            {
                throw No("BINARY applies to leaf parts and enclosed messages", ResponseCode.UnknownCte);
            }

            // A message/rfc822 part: its body is the enclosed message, decoded like any part (RFC 3516 §4.2).

            return Decode(part.Encoding, await ReadAsync(opened, part.BodyOffset, part.Octets, ct));
        }

        switch (item.Text)
        {
            case SectionText.Whole:
                return await ReadAsync(opened, part.BodyOffset, part.Octets, ct);
            case SectionText.Mime:
                return await ReadAsync(opened, part.HeaderOffset, part.HeaderLength, ct);
        }

        // HEADER and TEXT of a part are those of the message/rfc822 it holds.
        if (part.MessageBody is not { } enclosed)
        {
            return [];
        }

        return item.Text switch
        {
            SectionText.Header => await ReadAsync(opened, enclosed.HeaderOffset, enclosed.HeaderLength, ct),
            SectionText.Text => await ReadAsync(opened, enclosed.BodyOffset, enclosed.Octets, ct),
            _ => FilterHeader(await ReadAsync(opened, enclosed.HeaderOffset, enclosed.HeaderLength, ct), item.Fields!, item.Text == SectionText.HeaderFieldsNot),
        };
    }

    private static Task<byte[]> ReadAsync(OpenedMessage opened, long offset, long length, CancellationToken ct)
    {
        var size = opened.Message.Size;
        offset = Math.Clamp(offset, 0, size);
        length = Math.Clamp(length, 0, size - offset);
        return opened.ReadRangeAsync(offset, (int)length, ct);
    }

    /// <summary>
    /// RFC 9051 §6.4.5 part numbers: each number picks a child of a multipart; a non-multipart body
    /// (of the message, or of an enclosed message/rfc822) is its own part 1.
    /// </summary>
    internal static BodyPart? FindPart(BodyPart root, int[] path)
    {
        BodyPart? node = null;
        foreach (var n in path)
        {
            var container = node is null ? root : node.MessageBody ?? node;
            if (container.Parts is { } parts)
            {
                if (n > parts.Count)
                {
                    return null;
                }

                node = parts[n - 1];
            }
            else if (n == 1 && (node is null || node.IsMessage))
            {
                node = container;
            }
            else
            {
                return null;
            }
        }

        return node;
    }

    /// <summary>The header fields named (or all but those named), as sent, and the blank line that ends a header.</summary>
    internal static byte[] FilterHeader(byte[] header, IReadOnlyList<string> fields, bool not)
    {
        var wanted = new HashSet<string>(fields, StringComparer.OrdinalIgnoreCase);
        var output = new MemoryStream();
        var i = 0;
        while (i < header.Length)
        {
            // One field: a line and the folded lines after it.
            var start = i;
            do
            {
                var lf = Array.IndexOf(header, (byte)'\n', i);
                i = lf < 0 ? header.Length : lf + 1;
            }
            while (i < header.Length && header[i] is (byte)' ' or (byte)'\t');

            var colon = Array.IndexOf(header, (byte)':', start, i - start);
            if (colon <= start)
            {
                continue; // the blank line, or a line that is not a field
            }

            var name = Encoding.ASCII.GetString(header, start, colon - start).TrimEnd();
            if (wanted.Contains(name) != not)
            {
                output.Write(header, start, i - start);
            }
        }

        output.Write("\r\n"u8);
        return output.ToArray();
    }

    private static byte[] Decode(string encoding, byte[] body)
    {
        MimeKit.Encodings.IMimeDecoder decoder;
        switch (encoding.ToLowerInvariant())
        {
            case "7bit" or "8bit" or "binary":
                return body;
            case "base64":
                decoder = new MimeKit.Encodings.Base64Decoder();
                break;
            case "quoted-printable":
                return Sealpost.Mime.QuotedPrintable.Decode(body);
            default:
                throw No("Unknown content transfer encoding", ResponseCode.UnknownCte);
        }

        var output = new byte[decoder.EstimateOutputLength(body.Length)];
        var n = decoder.Decode(body, 0, body.Length, output);
        return output.AsSpan(0, n).ToArray();
    }

    /// <summary>UIDs from 1 to <paramref name="max"/> that the view does not hold: a superset of what was expunged, for when the change log was pruned (RFC 7162 lets VANISHED name UIDs that never existed).</summary>
    private static IEnumerable<uint> UidsMissingUpTo(uint max, SelectedMailbox view)
    {
        var present = new HashSet<uint>(view.Uids);
        for (uint u = 1; u <= max && u != 0; u++)
        {
            if (!present.Contains(u))
            {
                yield return u;
            }
        }
    }

    /// <summary>
    /// RFC 8474 EMAILID: the sealed blob's id, so every copy of one message (COPY, MOVE, a delivery to
    /// several of one's folders) has the same EMAILID and it never changes.
    /// </summary>
    internal static string EmailId(MessageRecord record) => "M" + record.BlobId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// RFC 8474 THREADID: derived from the thread's root Message-ID (the first References entry, else
    /// In-Reply-To, else the message's own), hashed so it leaks nothing and stays stable; a message
    /// with none of these is a thread of its own.
    /// </summary>
    internal static string ThreadId(MessageMetadata meta, MessageRecord record)
    {
        var root = meta.References.FirstOrDefault() ?? meta.InReplyTo.FirstOrDefault() ?? meta.MessageId;
        if (root is null)
        {
            return "T" + record.BlobId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        }

        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(root));
        return "T" + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }

    /// <summary>Message rows for a list of UIDs (ascending), in one range read.</summary>
    private async Task<List<MessageRecord>> RecordsAsync(long mailboxId, IReadOnlyList<uint> uids, CancellationToken ct)
    {
        if (uids.Count == 0)
        {
            return [];
        }

        var wanted = new HashSet<uint>(uids);
        var rows = await SelMail.ListMessagesAsync(mailboxId, new UidRange(uids[0], uids[^1]), ct);
        return rows.Where(r => wanted.Contains(r.Uid)).ToList();
    }

    /// <summary>
    /// The UIDs a set names in the session's view, ascending. A message-number set that names a number
    /// past the last message is a client error (RFC 9051 §9 seq-number); a UID set simply matches what exists.
    /// </summary>
    private List<uint> ResolveSet(SequenceSet set, bool uid)
    {
        var view = _selected!;
        if (set.IsSaved)
        {
            var saved = _savedResult ?? [];
            return saved.Where(u => view.SequenceOf(u) != 0).Order().ToList();
        }

        if (uid)
        {
            var max = view.MaxUid;
            var result = new List<uint>();
            foreach (var u in view.Uids)
            {
                if (set.Contains(u, max))
                {
                    result.Add(u);
                }
            }

            return result;
        }

        if (!set.FitsWithin(view.Count))
        {
            throw new ImapParseException("Message sequence number out of range");
        }

        return set.Resolve(view.Count).Select(view.UidAt).ToList();
    }
}
