using Sealpost.Tests.Support;

namespace Sealpost.Tests.Transcripts;

/// <summary>
/// One dev server shared by a transcript table: every case opens its own in-memory session on it, so a
/// case costs milliseconds and a failing row does not hide the others.
/// </summary>
public sealed class TranscriptServer : IAsyncLifetime
{
    public const string Alice = "alice@example.test";
    public const string AlicePassword = "alice-dev-password";

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(o =>
    {
        o.Imap.AllowPlaintextAuthOnLoopback = true; // --dev options: the in-memory client is on loopback, without TLS
        o.Smtp.AllowPlaintextAuthOnLoopback = true;
        o.Smtp.MaxErrorsPerSession = 50;
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
