using System.Text;
using System.Text.Json;
using Sealpost.Mime;

namespace Sealpost.Tests.Mime;

/// <summary>
/// SEARCH reads header values, ENVELOPE addresses and the Date straight from the metadata JSON: for every
/// message of the corpus and every field, that read answers what the parsed metadata holds, before and after
/// the view has been parsed.
/// </summary>
public sealed class MetadataViewTests
{
    private static readonly string[] HeaderFields =
        ["from", "to", "cc", "bcc", "subject", "reply-to", "sender", "message-id", "in-reply-to", "references", "list-id", "date", "x-not-recorded"];

    private static readonly string[] AddressFields = ["from", "to", "cc", "bcc", "sender"];

    private static MessageMetadata Analyze(string name)
    {
        var raw = LineEndings.ToCrlf(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "mime", name + ".eml"))).ToArray();
        return new MessageAnalyzer(new Sealpost.Core.Configuration.LimitOptions().MaxMimeDepth).Analyze(raw); // as delivery analyses it
    }

    public static TheoryData<string, string> MessagesAndHeaderFields() => Pairs(HeaderFields);

    public static TheoryData<string, string> MessagesAndAddressFields() => Pairs(AddressFields);

    private static TheoryData<string, string> Pairs(string[] fields)
    {
        var data = new TheoryData<string, string>();
        foreach (var message in MetadataCorpusTests.Messages())
        {
            foreach (var field in fields)
            {
                data.Add(message, field);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MessagesAndHeaderFields))]
    public void A_header_value_read_from_the_json_is_the_parsed_one(string message, string field)
    {
        var metadata = Analyze(message);
        var expectedFound = metadata.SearchHeaders.TryGetValue(field, out var expected);
        var view = new MetadataView(MetadataCodec.Serialize(metadata));

        Assert.Equal((expectedFound, expected), (view.TryGetSearchHeader(field, out var fromJson), fromJson));
        _ = view.Parsed;
        Assert.Equal((expectedFound, expected), (view.TryGetSearchHeader(field, out var fromParsed), fromParsed));
    }

    [Theory]
    [MemberData(nameof(MessagesAndAddressFields))]
    public void Envelope_addresses_read_from_the_json_are_the_parsed_ones(string message, string field)
    {
        var metadata = Analyze(message);
        var expected = field switch
        {
            "from" => metadata.Envelope.From,
            "to" => metadata.Envelope.To,
            "cc" => metadata.Envelope.Cc,
            "bcc" => metadata.Envelope.Bcc,
            _ => null, // SEARCH matches parsed addresses of these four only
        };
        var view = new MetadataView(MetadataCodec.Serialize(metadata));

        Assert.Equal(expected, view.Addresses(field));
        _ = view.Parsed;
        Assert.Equal(expected, view.Addresses(field));
    }

    [Theory]
    [MemberData(nameof(MetadataCorpusTests.Messages), MemberType = typeof(MetadataCorpusTests))]
    public void The_sent_date_read_from_the_json_is_the_parsed_one(string message)
    {
        var metadata = Analyze(message);
        var view = new MetadataView(MetadataCodec.Serialize(metadata));

        Assert.Equal(metadata.Envelope.Date, view.EnvelopeDate);
        Assert.Equal(metadata.Envelope.Date, view.Value.Envelope.Date);
        Assert.Equal(metadata.Envelope.Date, view.EnvelopeDate);
    }

    [Theory]
    [MemberData(nameof(MetadataCorpusTests.Messages), MemberType = typeof(MetadataCorpusTests))]
    public void The_sort_keys_read_from_the_json_are_the_parsed_ones(string message)
    {
        var metadata = Analyze(message);
        var view = new MetadataView(MetadataCodec.Serialize(metadata));

        Assert.Equal((metadata.SentDate, metadata.BaseSubject), (view.SentDate, view.BaseSubject));
        _ = view.Parsed;
        Assert.Equal((metadata.SentDate, metadata.BaseSubject), (view.SentDate, view.BaseSubject));
    }

    /// <summary>A bulk read decrypts each message's metadata where its ciphertext lay: the view reads that span alone.</summary>
    [Theory]
    [MemberData(nameof(MetadataCorpusTests.Messages), MemberType = typeof(MetadataCorpusTests))]
    public void A_view_of_json_inside_a_larger_buffer_reads_that_json_alone(string message)
    {
        var metadata = Analyze(message);
        var json = MetadataCodec.Serialize(metadata);
        byte[] before = [.. "{\"hdr\":{\"from\":\"decoy\"}}"u8], after = [.. "}garbage{\"date\":1}"u8];
        var view = new MetadataView([.. before, .. json, .. after], before.Length, json.Length);

        Assert.Equal(
            (metadata.SearchHeaders.GetValueOrDefault("from"), metadata.Envelope.Date, metadata.SentDate, metadata.BaseSubject),
            (view.TryGetSearchHeader("from", out var from) ? from : null, view.EnvelopeDate, view.SentDate, view.BaseSubject));
        Assert.Equal(metadata.Envelope.From, view.Addresses("from"));
        Assert.Equal(MetadataCodec.Serialize(metadata), MetadataCodec.Serialize(view.Value));
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, 11)]
    [InlineData(5, 6)]
    public void A_span_outside_the_buffer_is_refused(int start, int length) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new MetadataView(new byte[10], start, length));

    [Fact]
    public void Escaped_and_non_ascii_values_come_back_decoded()
    {
        var metadata = new MessageMetadata
        {
            SearchHeaders = { ["subject"] = "Grüße \"quoted\" \\ and\ttab" },
            Envelope = { From = [new EnvelopeAddress("Jörg", null, "jörg", "exämple.test")] },
        };
        var json = MetadataCodec.Serialize(metadata);
        Assert.Contains("\\u", Encoding.UTF8.GetString(json), StringComparison.Ordinal); // the serialiser escaped them
        var view = new MetadataView(json);

        Assert.True(view.TryGetSearchHeader("subject", out var subject));
        Assert.Equal("Grüße \"quoted\" \\ and\ttab", subject);
        Assert.Equal([new EnvelopeAddress("Jörg", null, "jörg", "exämple.test")], view.Addresses("from"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[1,2]")]
    [InlineData("{\"v\":1,\"hdr\":{\"from\":")]
    [InlineData("{\"v\":1,\"hdr\":{\"from\":42},\"env\":{\"from\":[{\"m\":7}],\"date\":false}}")]
    [InlineData("{\"v\":99}")]
    public void Json_that_is_not_metadata_matches_nothing_and_does_not_parse(string text)
    {
        var view = new MetadataView(Encoding.UTF8.GetBytes(text));

        Assert.False(view.TryGetSearchHeader("from", out _));
        Assert.Null(view.EnvelopeDate);
        Assert.Null(view.SentDate);
        Assert.Null(view.Parsed);
        Assert.Equal("", view.BaseSubject);
        Assert.Throws<JsonException>(() => view.Value);
        Assert.False(view.TryGetSearchHeader("from", out _));
        Assert.Null(view.Addresses("from"));
    }
}
