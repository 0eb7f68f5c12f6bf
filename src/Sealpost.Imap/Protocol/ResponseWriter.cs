using System.Buffers;
using System.Globalization;
using System.Text;

namespace Sealpost.Imap.Protocol;

/// <summary>
/// Writes data responses as octets (RFC 9051 §7 syntax, §4 data types): the one place that quotes,
/// escapes, picks between a quoted string and a literal, encodes mailbox names for the session
/// (<paramref name="utf8"/>: after ENABLE UTF8=ACCEPT, RFC 6855 §3) and counts literal octets. Pure:
/// a response and a buffer in, nothing else touched.
/// </summary>
public static class ResponseWriter
{
    public static void Write(IBufferWriter<byte> output, DataResponse response, bool utf8)
    {
        var line = new Line(output, utf8);
        line.Text("* ");
        switch (response)
        {
            case CapabilityResponse r:
                line.Text("CAPABILITY ").Text(r.Capabilities);
                break;
            case EnabledResponse r:
                line.Text("ENABLED").Atoms(r.Extensions);
                break;
            case IdResponse r:
                line.Text("ID ").Value(ImapValue.List(r.Fields.SelectMany(f => new[] { ImapValue.String(f.Field), ImapValue.String(f.Value) })));
                break;
            case NamespaceResponse r:
                line.Text("NAMESPACE ").Namespaces(r.Personal).Text(" ").Namespaces(r.OtherUsers).Text(" ").Namespaces(r.Shared);
                break;
            case ListResponse r:
                line.Text(r.Lsub ? "LSUB (" : "LIST (").Text(string.Join(' ', r.Attributes)).Text(") \"").Text(ListResponse.Delimiter.ToString()).Text("\" ")
                    .Value(ImapValue.Mailbox(r.Mailbox));
                if (r.Extended is { Count: > 0 } extended)
                {
                    line.Text(" ").Value(ImapValue.List(extended.SelectMany(e => new[] { ImapValue.String(e.Tag), e.Value })));
                }

                break;
            case StatusResponse r:
                line.Text("STATUS ").Value(ImapValue.Mailbox(r.Mailbox)).Text(" ").Pairs(r.Items, parenthesised: true);
                break;
            case FlagsResponse r:
                line.Text("FLAGS (").Text(string.Join(' ', r.Flags)).Text(")");
                break;
            case SearchResponse r:
                line.Text("SEARCH").Numbers(r.Numbers);
                if (r.ModSeq is { } modseq)
                {
                    line.Text(" (MODSEQ ").Number(modseq).Text(")");
                }

                break;
            case SortResponse r:
                line.Text("SORT").Numbers(r.Numbers);
                break;
            case ThreadResponse r:
                line.Text("THREAD ").Text(r.Threads);
                break;
            case ESearchResponse r:
                line.Text("ESEARCH (TAG ").Value(ImapValue.String(r.Tag)).Text(")");
                if (r.Uid)
                {
                    line.Text(" UID");
                }

                if (r.Results.Count > 0)
                {
                    line.Text(" ").Pairs(r.Results, parenthesised: false);
                }

                break;
            case QuotaRootResponse r:
                line.Text("QUOTAROOT ").Value(ImapValue.Mailbox(r.Mailbox));
                foreach (var root in r.Roots)
                {
                    line.Text(" ").Value(ImapValue.String(root));
                }

                break;
            case QuotaResponse r:
                line.Text("QUOTA ").Value(ImapValue.String(r.Root)).Text(" (")
                    .Text(string.Join(' ', r.Resources.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Resource} {q.Usage} {q.Limit}")))).Text(")");
                break;
            case ExistsResponse r:
                line.Number(r.Count).Text(" EXISTS");
                break;
            case RecentResponse r:
                line.Number(r.Count).Text(" RECENT");
                break;
            case ExpungeResponse r:
                line.Number(r.Sequence).Text(" EXPUNGE");
                break;
            case VanishedResponse r:
                line.Text(r.Earlier ? "VANISHED (EARLIER) " : "VANISHED ").Text(SequenceSet.Format(r.Uids));
                break;
            case FetchResponse r:
                line.Number(r.Sequence).Text(" FETCH ").Pairs(r.Items, parenthesised: true);
                break;
            default:
                throw new ArgumentException($"no syntax for {response.GetType().Name}", nameof(response));
        }

        line.Text("\r\n");
    }

    /// <summary>Appends to one response line; a literal's octets go straight into the buffer.</summary>
    private readonly ref struct Line(IBufferWriter<byte> output, bool utf8)
    {
        private readonly IBufferWriter<byte> _output = output;

        public Line Text(string text)
        {
            var span = _output.GetSpan(Encoding.UTF8.GetByteCount(text));
            _output.Advance(Encoding.UTF8.GetBytes(text, span));
            return this;
        }

        public Line Number(ulong value)
        {
            var span = _output.GetSpan(20);
            value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
            _output.Advance(written);
            return this;
        }

        /// <summary>Each number after a space.</summary>
        public Line Numbers(IReadOnlyList<uint> numbers)
        {
            foreach (var number in numbers)
            {
                Text(" ").Number(number);
            }

            return this;
        }

        /// <summary>Each atom after a space.</summary>
        public Line Atoms(IReadOnlyList<string> atoms)
        {
            foreach (var atom in atoms)
            {
                Text(" ").Text(atom);
            }

            return this;
        }

        public Line Pairs(IReadOnlyList<(string Name, ImapValue Value)> pairs, bool parenthesised)
        {
            if (parenthesised)
            {
                Text("(");
            }

            for (var i = 0; i < pairs.Count; i++)
            {
                if (i > 0)
                {
                    Text(" ");
                }

                Text(pairs[i].Name).Text(" ").Value(pairs[i].Value);
            }

            return parenthesised ? Text(")") : this;
        }

        public Line Namespaces(IReadOnlyList<Namespace> namespaces)
        {
            if (namespaces.Count == 0)
            {
                return Text("NIL");
            }

            return Value(ImapValue.List(namespaces.Select(n => ImapValue.List(ImapValue.String(n.Prefix), ImapValue.String(n.Delimiter.ToString())))));
        }

        public Line Value(ImapValue value)
        {
            switch (value)
            {
                case NumberValue n:
                    return Number(n.Value);
                case AtomValue a:
                    return Text(a.Text);
                case StringValue s:
                    return Text(ImapText.String(s.Value, utf8));
                case MailboxValue m:
                    return Text(ImapText.Mailbox(m.Name, utf8));
                case FormattedValue f:
                    return Text(f.Syntax);
                case ListValue l:
                    Text("(");
                    for (var i = 0; i < l.Items.Count; i++)
                    {
                        if (i > 0)
                        {
                            Text(" ");
                        }

                        Value(l.Items[i]);
                    }

                    return Text(")");
                case LiteralValue literal:
                    Text(literal.Binary ? "~{" : "{").Number((ulong)literal.Octets.Length).Text("}\r\n");
                    var octets = literal.Octets.Span;
                    while (!octets.IsEmpty)
                    {
                        var span = _output.GetSpan(Math.Min(octets.Length, 64 * 1024));
                        var n = Math.Min(span.Length, octets.Length);
                        octets[..n].CopyTo(span);
                        _output.Advance(n);
                        octets = octets[n..];
                    }

                    return this;
                default:
                    throw new ArgumentException($"no syntax for {value.GetType().Name}", nameof(value));
            }
        }
    }
}
