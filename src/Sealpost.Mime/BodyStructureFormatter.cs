using System.Globalization;
using System.Text;

namespace Sealpost.Mime;

/// <summary>
/// RFC 9051 §7.5.2 BODYSTRUCTURE and ENVELOPE, from the metadata (no re-parse). Strings are quoted;
/// one that needs a literal (CR, LF, 8-bit) is the IMAP layer's to render, and is quoted here with
/// its characters as they are.
/// </summary>
public static class BodyStructureFormatter
{
    public static string BodyStructure(BodyPart part, bool extensions = true)
    {
        var text = new StringBuilder();
        Write(text, part, extensions);
        return text.ToString();
    }

    /// <summary>
    /// The ENVELOPE text, made once per envelope object: metadata is immutable once sealed and the
    /// cached copy is shared, so a client that fetches a mailbox's envelopes again (imaptest does on
    /// every cycle) gets the same string without it being built again.
    /// </summary>
    public static string Envelope(Envelope envelope)
    {
        if (envelope.Formatted is { } made)
        {
            return made;
        }

        var text = new StringBuilder();
        WriteEnvelope(text, envelope);
        return envelope.Formatted = text.ToString();
    }

    private static void Write(StringBuilder text, BodyPart part, bool extensions)
    {
        text.Append('(');
        if (part.Parts is { } parts)
        {
            foreach (var child in parts)
            {
                Write(text, child, extensions);
            }

            text.Append(' ').Append(Quote(part.Subtype));
            if (extensions)
            {
                text.Append(' ').Append(Parameters(part.Parameters));
                AppendDispositionLanguageLocation(text, part);
            }

            text.Append(')');
            return;
        }

        text.Append(Quote(part.Type)).Append(' ').Append(Quote(part.Subtype)).Append(' ').Append(Parameters(part.Parameters))
            .Append(' ').Append(NString(part.ContentId)).Append(' ').Append(NString(part.Description))
            .Append(' ').Append(Quote(part.Encoding)).Append(' ').Append(part.Octets.ToString(CultureInfo.InvariantCulture));
        if (part.MessageBody is { } inner)
        {
            text.Append(' ');
            WriteEnvelope(text, part.MessageEnvelope ?? new Envelope());
            text.Append(' ');
            Write(text, inner, extensions);
            text.Append(' ').Append(part.Lines.ToString(CultureInfo.InvariantCulture));
        }
        else if (part.Type == "text")
        {
            text.Append(' ').Append(part.Lines.ToString(CultureInfo.InvariantCulture));
        }

        if (extensions)
        {
            text.Append(' ').Append(NString(part.Md5));
            AppendDispositionLanguageLocation(text, part);
        }

        text.Append(')');
    }

    private static void AppendDispositionLanguageLocation(StringBuilder text, BodyPart part)
    {
        text.Append(' ').Append(part.Disposition is null ? "NIL" : $"({Quote(part.Disposition)} {Parameters(part.DispositionParameters ?? [])})");
        text.Append(' ').Append(part.Language switch
        {
            null or { Count: 0 } => "NIL",
            { Count: 1 } one => Quote(one[0]),
            var many => "(" + string.Join(' ', many.Select(Quote)) + ")",
        });
        text.Append(' ').Append(NString(part.Location));
    }

    private static void WriteEnvelope(StringBuilder text, Envelope e)
    {
        text.Append('(').Append(NString(e.Date)).Append(' ').Append(NString(e.Subject));
        foreach (var list in new[] { e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc })
        {
            text.Append(' ').Append(Addresses(list));
        }

        text.Append(' ').Append(NString(e.InReplyTo)).Append(' ').Append(NString(e.MessageId)).Append(')');
    }

    private static string Addresses(List<EnvelopeAddress>? list) =>
        list is null or { Count: 0 }
            ? "NIL"
            : "(" + string.Concat(list.Select(a => $"({NString(a.Name)} {NString(a.Adl)} {NString(a.Mailbox)} {NString(a.Host)})")) + ")";

    private static string Parameters(List<string[]> parameters) =>
        parameters.Count == 0 ? "NIL" : "(" + string.Join(' ', parameters.Select(p => Quote(p[0]) + " " + Quote(p[1]))) + ")";

    private static string NString(string? value) => value is null ? "NIL" : Quote(value);

    private static string Quote(string value) => value.AsSpan().IndexOfAny('\\', '"') < 0
        ? "\"" + value + "\"" // the common case: nothing to escape, no scan per character to replace
        : "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
