using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Mime;
using Sealpost.Server;

namespace Sealpost.Bench;

/// <summary>
/// Sealed-storage figures: seal and open (HPKE and re-wrapped paths), 1 MB throughput, MIME
/// analysis, logins (Argon2id at the production defaults, app password, cached), and reading the
/// metadata of a 10,000-message mailbox. Single-threaded figures are per core.
/// </summary>
internal static class VaultBenchmark
{
    public static async Task<int> RunAsync(int mailboxMessages)
    {
        var small = BenchMessages.Content(1, 5 * 1024);
        var large = BenchMessages.Content(2, 1024 * 1024);
        var (privateKey, publicKey) = Hpke.GenerateKeyPair();
        using var session = AccountSession.FromPrivateKey(1, 1, privateKey);
        var recipients = new[] { new SealRecipient(1, 1, publicKey) };
        var analyzer = new MessageAnalyzer();
        var metadata = MetadataCodec.Serialize(analyzer.Analyze(small));

        Console.WriteLine("vault: one core, one thread unless noted");
        Report("seal 5 KB, 1 recipient (HPKE wrap, no MIME parsing)", Rate(() => SealedMessageCodec.Seal(small, metadata, recipients)), "messages/s");
        var sealedSmall = SealedMessageCodec.Seal(small, metadata, recipients);
        Report("open 5 KB, HPKE path (first read)", Rate(() => SealedMessageCodec.OpenBody(session, sealedSmall.WrappedKeys[0], sealedSmall.Body)), "messages/s");
        var rewrapped = SealedMessageCodec.Rewrap(session, sealedSmall.WrappedKeys[0]);
        Report("open 5 KB, re-wrapped path", Rate(() => SealedMessageCodec.OpenBody(session, rewrapped, sealedSmall.Body)), "messages/s");
        Report("MIME analysis 5 KB (separate from sealing)", Rate(() => analyzer.Analyze(small)), "messages/s");
        Report($"metadata JSON parse ({metadata.Length} B)", Rate(() => MetadataCodec.Deserialize(metadata)), "messages/s");
        Report("symmetric unwrap of a content key", Rate(() => SealedMessageCodec.Rewrap(session, rewrappedProbe(session, sealedProbe(small, metadata, recipients)))), "ops/s");

        var largeMetadata = MetadataCodec.Serialize(analyzer.Analyze(large));
        Report("seal 1 MB", Rate(() => SealedMessageCodec.Seal(large, largeMetadata, recipients)), "MB/s");
        var sealedLarge = SealedMessageCodec.Seal(large, largeMetadata, recipients);
        var largeWrap = SealedMessageCodec.Rewrap(session, sealedLarge.WrappedKeys[0]);
        Report("open 1 MB", Rate(() => SealedMessageCodec.OpenBody(session, largeWrap, sealedLarge.Body)), "MB/s");

        var production = new CredentialKdf(new PasswordHashingOptions());
        var (verifier, _) = production.NewPassword("correct horse battery staple");
        var argon = Latencies(10, () => production.Verify("correct horse battery staple", verifier));
        Console.WriteLine($"  {"Argon2id login check, defaults m=64 MiB t=3",-58} p50 {argon[argon.Length / 2]:F1} ms, max {argon[^1]:F1} ms");

        await StoreFiguresAsync(mailboxMessages);
        return 0;
    }

    private static async Task StoreFiguresAsync(int mailboxMessages)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sealpost-bench-vault-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new SealpostOptions { DataDirectory = Path.Combine(folder, "data"), PasswordHashing = { Profile = OptionsValidator.TestProfile }, Vault = { MasterKeyFile = Path.Combine(folder, "master.key") } };
            var (_, recoveryPublic) = Hpke.GenerateKeyPair();
            var recoveryFile = Path.Combine(folder, "recovery.pub");
            KeyFiles.Write(recoveryFile, KeyFiles.RecoveryPublicLabel, recoveryPublic);
            await using var runtime = await SealpostRuntime.InitialiseAsync(options, NullLoggerFactory.Instance, dev: false, recoveryFile);
            await runtime.Directory.AddDomainAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bench.example", "default");
            var account = await runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "user@bench.example", "correct horse battery", null, 0);
            var app = await runtime.Directory.CreateAppPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "user@bench.example", "correct horse battery", "bench");

            var uncachedOptions = new VaultOptions { LoginCacheSeconds = 0 };
            var uncached = new AccountVault(runtime.Store, runtime.Trust, new CredentialKdf(options.PasswordHashing), uncachedOptions, NullLogger<AccountVault>.Instance);
            var appLatency = await LatenciesAsync(200, async () => (await uncached.UnlockAsync(account, app))!.Dispose());
            Console.WriteLine($"  {"app-password login (HKDF, unwrap, key check, store reads)",-58} p50 {appLatency[appLatency.Length / 2]:F3} ms, p99 {appLatency[(int)(appLatency.Length * 0.99)]:F3} ms");
            (await runtime.Directory.LoginAsync("user@bench.example", "correct horse battery"))!.Value.Session.Dispose();
            Report("cached login (account re-read, version and state checked)", await RateAsync(async () => (await runtime.Directory.LoginAsync("user@bench.example", "correct horse battery"))!.Value.Session.Dispose()), "logins/s");

            var inbox = (await runtime.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = w; i < mailboxMessages; i += 8)
                {
                    await runtime.Delivery.DeliverAsync(BenchMessages.Content(i, 5 * 1024), [new DeliveryTarget(account.Id, inbox)], DateTimeOffset.UtcNow);
                }
            })));
            Console.WriteLine($"  {"sealed delivery incl. MIME analysis, 8 writers, durable",-58} {mailboxMessages / clock.Elapsed.TotalSeconds:F0} messages/s");

            using var session = (await runtime.Directory.LoginAsync("user@bench.example", "correct horse battery"))!.Value.Session;
            clock.Restart();
            var first = await runtime.Reader.ReadMetadataAsync(session, inbox, UidRange.All);
            var firstMs = clock.Elapsed.TotalMilliseconds;
            var times = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                clock.Restart();
                var all = await runtime.Reader.ReadMetadataAsync(session, inbox, UidRange.All);
                times.Add(clock.Elapsed.TotalMilliseconds);
                if (all.Count != mailboxMessages || all.Any(m => m.Metadata is null))
                {
                    throw new InvalidOperationException("metadata incomplete");
                }

                if (i == 4)
                {
                    clock.Restart();
                    var subjects = all.Count(m => m.Metadata!.Value.Envelope.Subject is not null);
                    Console.WriteLine($"  {$"  then parsing all {subjects} (ENVELOPE etc.), on first use",-58} {clock.Elapsed.TotalMilliseconds:F0} ms");
                }
            }

            times.Sort();
            clock.Restart();
            var rows = await runtime.Store.Mail.ListSealedMetadataAsync(inbox, UidRange.All);
            Console.WriteLine($"  {$"  of which the store read of {rows.Count} rows with sealed metadata",-58} {clock.Elapsed.TotalMilliseconds:F0} ms");
            Console.WriteLine($"  {$"metadata of a {first.Count}-message mailbox, first read (HPKE + re-wrap)",-58} {firstMs:F0} ms");
            Console.WriteLine($"  {$"metadata of a {first.Count}-message mailbox, re-wrapped",-58} median {times[2]:F0} ms, best {times[0]:F0} ms");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static SealedMessage? _probe;
    private static byte[]? _probeWrap;
    private static SealedMessage sealedProbe(byte[] small, byte[] metadata, SealRecipient[] recipients) => _probe ??= SealedMessageCodec.Seal(small, metadata, recipients);
    private static byte[] rewrappedProbe(AccountSession session, SealedMessage m) => _probeWrap ??= SealedMessageCodec.Rewrap(session, m.WrappedKeys[0]);

    private static void Report(string what, double rate, string unit) => Console.WriteLine($"  {what,-58} {rate:F0} {unit}");

    /// <summary>Operations per second over about a second, after a warm-up. For "MB/s" the caller's operation is 1 MB.</summary>
    private static double Rate(Action action)
    {
        for (var i = 0; i < 20; i++)
        {
            action();
        }

        var clock = Stopwatch.StartNew();
        var n = 0;
        while (clock.ElapsedMilliseconds < 1000)
        {
            action();
            n++;
        }

        return n / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> RateAsync(Func<Task> action)
    {
        for (var i = 0; i < 20; i++)
        {
            await action();
        }

        var clock = Stopwatch.StartNew();
        var n = 0;
        while (clock.ElapsedMilliseconds < 1000)
        {
            await action();
            n++;
        }

        return n / clock.Elapsed.TotalSeconds;
    }

    private static double[] Latencies(int count, Action action)
    {
        action();
        var result = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            action();
            result[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(result);
        return result;
    }

    private static async Task<double[]> LatenciesAsync(int count, Func<Task> action)
    {
        await action();
        var result = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await action();
            result[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(result);
        return result;
    }
}
