using Sealpost.Imap.Protocol;
using Sealpost.Mime;

namespace Sealpost.Imap;

// THREAD and UID THREAD (RFC 5256 §4): ORDEREDSUBJECT and REFERENCES over the messages that match the
// search criteria; the algorithms live in Threading.cs (pure), the inputs come from the sealed metadata.
public sealed partial class ImapSession
{
    private async Task<After> ThreadAsync(string tag, ThreadArguments arguments, bool uid, CancellationToken ct)
    {
        var (algorithm, charset, key) = arguments;
        RequireCharset(charset);

        var view = _selected!;
        await ReportChangesAsync(allowExpunge: uid, force: false, ct);
        var (records, metadata, _) = await EvaluateAsync(key, ct, wantMetadata: true);
        var inputs = records.Select((r, i) =>
        {
            var meta = metadata![i]?.Parsed; // threading reads most of it: parsed once
            var number = uid ? r.Uid : view.SequenceOf(r.Uid);
            return new ThreadInput(
                number,
                meta?.MessageId,
                meta?.References ?? [],
                meta?.InReplyTo ?? [],
                SubjectKey(meta?.BaseSubject ?? ""),
                meta is not null && IsReplySubject(meta),
                SentDate(r, metadata[i]));
        }).ToList();
        var threads = algorithm == "REFERENCES" ? Threading.References(inputs) : Threading.OrderedSubject(inputs);
        Send(new ThreadResponse(Threading.Format(threads)));
        Ok(tag, "THREAD completed");
        return After.Next;
    }

    /// <summary>Base subjects compare with i;unicode-casemap (RFC 5256 §2.1): compatibility-normalised and case-folded.</summary>
    private static string SubjectKey(string baseSubject) => baseSubject.Normalize(System.Text.NormalizationForm.FormKC).ToUpperInvariant();

    /// <summary>RFC 5256 §4 step 5: a subject is a reply or forward when extracting the base subject removed a Re:/Fwd: or a trailing (fwd).</summary>
    private static bool IsReplySubject(MessageMetadata meta)
    {
        var subject = meta.SearchHeaders.GetValueOrDefault("subject")?.Trim() ?? "";
        return subject.Length > 0 && !string.Equals(System.Text.RegularExpressions.Regex.Replace(subject, @"\s+", " "), meta.BaseSubject, StringComparison.OrdinalIgnoreCase)
            && System.Text.RegularExpressions.Regex.IsMatch(subject, @"^\s*(\[[^\]]*\]\s*)*(re|fwd?)\s*(\[[^\]]*\])?\s*:|\(fwd\)\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
    }
}
