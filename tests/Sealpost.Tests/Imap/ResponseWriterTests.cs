using System.Buffers;
using System.Text;
using Sealpost.Imap.Protocol;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Data responses as records, written by one writer: each case is a response and the exact line a
/// client reads (RFC 9051 §7 syntax, §4 data types), with the session's name encoding.
/// </summary>
public sealed class ResponseWriterTests
{
    public static TheoryData<string, DataResponse, bool, string> Cases => new()
    {
        { "capability", new CapabilityResponse("IMAP4rev2 IDLE"), false, "* CAPABILITY IMAP4rev2 IDLE" },
        { "enabled, none", new EnabledResponse([]), false, "* ENABLED" },
        { "enabled", new EnabledResponse(["CONDSTORE", "UTF8=ACCEPT"]), false, "* ENABLED CONDSTORE UTF8=ACCEPT" },
        { "id", new IdResponse([("name", "Sealpost")]), false, "* ID (\"name\" \"Sealpost\")" },
        { "namespace", new NamespaceResponse([new Namespace("", '/')], [new Namespace("Other Users/", '/')], []), false, "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL" },
        { "list, atom name", new ListResponse(["\\HasNoChildren"], "INBOX"), false, "* LIST (\\HasNoChildren) \"/\" INBOX" },
        { "list, empty name", new ListResponse(["\\Noselect"], ""), false, "* LIST (\\Noselect) \"/\" \"\"" },
        { "list, name with a space and a quote", new ListResponse([], "a \"b\""), false, "* LIST () \"/\" \"a \\\"b\\\"\"" },
        { "list, non-ASCII name in modified UTF-7", new ListResponse([], "Entwürfe"), false, "* LIST () \"/\" Entw&APw-rfe" },
        { "list, non-ASCII name after UTF8=ACCEPT", new ListResponse([], "Entwürfe"), true, "* LIST () \"/\" \"Entwürfe\"" },
        { "list, CHILDINFO", new ListResponse(["\\HasChildren"], "Work", [("CHILDINFO", ImapValue.List(ImapValue.String("SUBSCRIBED")))]), false, "* LIST (\\HasChildren) \"/\" Work (\"CHILDINFO\" (\"SUBSCRIBED\"))" },
        { "list, OLDNAME", new ListResponse([], "New", [("OLDNAME", ImapValue.List(ImapValue.Mailbox("Old")))]), false, "* LIST () \"/\" New (\"OLDNAME\" (Old))" },
        { "lsub", new ListResponse(["\\Noselect"], "Parent", Lsub: true), false, "* LSUB (\\Noselect) \"/\" Parent" },
        { "status", new StatusResponse("INBOX", [("MESSAGES", ImapValue.Number(2)), ("MAILBOXID", ImapValue.List(ImapValue.Atom("Mabc")))]), false, "* STATUS INBOX (MESSAGES 2 MAILBOXID (Mabc))" },
        { "flags", new FlagsResponse(["\\Seen", "$Label"]), false, "* FLAGS (\\Seen $Label)" },
        { "search, none", new SearchResponse([]), false, "* SEARCH" },
        { "search with modseq", new SearchResponse([1, 4], 17), false, "* SEARCH 1 4 (MODSEQ 17)" },
        { "sort", new SortResponse([3, 1]), false, "* SORT 3 1" },
        { "thread", new ThreadResponse("(1 2)(3)"), false, "* THREAD (1 2)(3)" },
        { "esearch, nothing", new ESearchResponse("a1", false, []), false, "* ESEARCH (TAG \"a1\")" },
        { "esearch", new ESearchResponse("a\"1", true, [("MIN", ImapValue.Number(2)), ("ALL", ImapValue.Atom("2:4"))]), false, "* ESEARCH (TAG \"a\\\"1\") UID MIN 2 ALL 2:4" },
        { "quotaroot", new QuotaRootResponse("INBOX", [""]), false, "* QUOTAROOT INBOX \"\"" },
        { "quota", new QuotaResponse("", [("STORAGE", 10, 512)]), false, "* QUOTA \"\" (STORAGE 10 512)" },
        { "quota, unlimited", new QuotaResponse("", []), false, "* QUOTA \"\" ()" },
        { "exists", new ExistsResponse(3), false, "* 3 EXISTS" },
        { "recent", new RecentResponse(0), false, "* 0 RECENT" },
        { "expunge", new ExpungeResponse(9), false, "* 9 EXPUNGE" },
        { "vanished", new VanishedResponse([1, 2, 3, 7], Earlier: false), false, "* VANISHED 1:3,7" },
        { "vanished earlier", new VanishedResponse([5], Earlier: true), false, "* VANISHED (EARLIER) 5" },
        { "fetch, nil and string", new FetchResponse(1, [("UID", ImapValue.Number(4)), ("PREVIEW", ImapValue.String(null)), ("INTERNALDATE", ImapValue.String("01-Jan-2026 00:00:00 +0000"))]), false, "* 1 FETCH (UID 4 PREVIEW NIL INTERNALDATE \"01-Jan-2026 00:00:00 +0000\")" },
        { "fetch, a string with a line break goes as a literal", new FetchResponse(2, [("PREVIEW", ImapValue.String("a\r\nb"))]), false, "* 2 FETCH (PREVIEW {4}\r\na\r\nb)" },
        { "fetch, literal", new FetchResponse(2, [("BODY[]", ImapValue.Literal("hi\r\n"u8.ToArray()))]), false, "* 2 FETCH (BODY[] {4}\r\nhi\r\n)" },
        { "fetch, literal8", new FetchResponse(2, [("BINARY[1]", ImapValue.Literal(new byte[] { 0x41, 0, 0x42 }, binary: true))]), false, "* 2 FETCH (BINARY[1] ~{3}\r\nA\0B)" },
        { "fetch, 8-bit string before UTF8=ACCEPT is a literal", new FetchResponse(3, [("PREVIEW", ImapValue.String("für"))]), false, "* 3 FETCH (PREVIEW {4}\r\nfür)" },
        { "fetch, 8-bit string after UTF8=ACCEPT is quoted", new FetchResponse(3, [("PREVIEW", ImapValue.String("für"))]), true, "* 3 FETCH (PREVIEW \"für\")" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_the_line_a_client_reads(string name, DataResponse response, bool utf8, string expected)
    {
        Assert.NotEmpty(name);
        var buffer = new ArrayBufferWriter<byte>();
        ResponseWriter.Write(buffer, response, utf8);
        Assert.Equal(expected + "\r\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void A_literal_larger_than_one_buffer_segment_is_written_whole()
    {
        var octets = new byte[200_000];
        Random.Shared.NextBytes(octets);
        var buffer = new ArrayBufferWriter<byte>(16);
        ResponseWriter.Write(buffer, new FetchResponse(1, [("BODY[]", ImapValue.Literal(octets))]), utf8: false);
        var prefix = "* 1 FETCH (BODY[] {200000}\r\n"u8.ToArray();
        Assert.Equal(prefix, buffer.WrittenSpan[..prefix.Length].ToArray());
        Assert.Equal(octets, buffer.WrittenSpan.Slice(prefix.Length, octets.Length).ToArray());
        Assert.Equal(")\r\n"u8.ToArray(), buffer.WrittenSpan[(prefix.Length + octets.Length)..].ToArray());
    }
}
