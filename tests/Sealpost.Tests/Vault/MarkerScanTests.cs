using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// The promise, tested: after real accounts, folders, keywords and messages full of marker
/// strings, no marker appears in any stored byte, in any encoding; with the passwords everything
/// comes back byte-identical; with the data folder, the configuration and the master key but no
/// password, nothing decrypts.
/// </summary>
public sealed class MarkerScanTests
{
    private const string AlicePassword = "PwMarkerQ7ZX1-horse";
    private const string BobPassword = "Pässwörd-Mårker-ZQ8";

    private static readonly string[] ContentMarkers =
    [
        "FolderMarkerK3J9", "Ordner-Märker-Ω42", "$KwMarkerP5T2", "SubjMarkerW8N4", "Betreff-Märker-Ж77",
        "BodyMarkerV6H3", "Körper-Märker-ß91", "AttachMarkerR2D2", "AttachContentMarkerC3PO", "FromMarkerL9Q1",
        "frommarkerl9q1", "ccmarkerzz81", "BigBodyMarkerX0X0",
    ];

    private static byte[] MarkedMessage() => Encoding.UTF8.GetBytes(
        "From: FromMarkerL9Q1 <frommarkerl9q1@remote.example>\r\n" +
        "To: alice@example.test, bob@example.test\r\n" +
        "Cc: ccmarkerzz81@remote.example\r\n" +
        "Subject: SubjMarkerW8N4 =?utf-8?b?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("Betreff-Märker-Ж77")) + "?=\r\n" +
        "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@remote.example>\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
        "--outer\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        "BodyMarkerV6H3 K=C3=B6rper-M=C3=A4rker-=C3=9F91\r\n" +
        "--outer\r\nContent-Type: application/pdf; name=\"AttachMarkerR2D2.pdf\"\r\nContent-Disposition: attachment; filename=\"AttachMarkerR2D2.pdf\"\r\n" +
        "Content-Transfer-Encoding: base64\r\n\r\n" + Convert.ToBase64String(Encoding.ASCII.GetBytes("%PDF-1.4 AttachContentMarkerC3PO %%EOF")) + "\r\n" +
        "--outer--\r\n");

    private static byte[] BigMessage() => Encoding.UTF8.GetBytes(
        "From: frommarkerl9q1@remote.example\r\nTo: alice@example.test\r\nSubject: big SubjMarkerW8N4\r\n\r\n" +
        string.Concat(Enumerable.Repeat("BigBodyMarkerX0X0 and some filler text to make it large.\r\n", 5000)));

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task No_marker_reaches_storage_and_nothing_opens_without_a_password(string storeKind)
    {
        var started = DateTime.UtcNow.AddSeconds(-1);
        PostgresCluster? cluster = null;
        string? connection = null;
        if (storeKind == "postgres")
        {
            cluster = await PostgresCluster.SharedAsync();
            connection = await cluster.CreateDatabaseAsync();
        }

        await using var test = await TestRuntime.CreateAsync(o =>
        {
            o.Store.Kind = storeKind;
            o.Store.ConnectionString = connection;
        });
        var r = test.Runtime;
        var alice = await r.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", AlicePassword, "Alice", 0);
        var bob = await r.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bob@example.test", BobPassword, "Bob", 0);
        var appPassword = await r.Directory.CreateAppPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", AlicePassword, "phone");
        var aliceInbox = (await r.Store.Mail.FindMailboxByRoleAsync(alice.Id, MailboxRole.Inbox))!.Id;
        var bobInbox = (await r.Store.Mail.FindMailboxByRoleAsync(bob.Id, MailboxRole.Inbox))!.Id;

        long folderId;
        using (var session = (await r.Directory.LoginAsync("alice@example.test", AlicePassword))!.Value.Session)
        {
            folderId = (await r.Mailboxes.CreateAsync(alice.Id, session.Names, "FolderMarkerK3J9/Ordner-Märker-Ω42")).Id;
            await r.Store.Mail.GetOrCreateKeywordAsync(alice.Id, session.Names.LookupKey(alice.Id, "$KwMarkerP5T2"), session.Names.Seal(alice.Id, "$KwMarkerP5T2"));
        }

        var marked = MarkedMessage();
        var big = BigMessage();
        await r.Delivery.DeliverAsync(marked, [new DeliveryTarget(alice.Id, aliceInbox), new DeliveryTarget(bob.Id, bobInbox)], DateTimeOffset.UtcNow);
        await r.Delivery.DeliverAsync(big, [new DeliveryTarget(alice.Id, folderId)], DateTimeOffset.UtcNow);

        // The outbound queue: a marked message for another organisation and its per-recipient progress.
        var system = Sealpost.Core.Access.Actor.System("test");
        await r.Deliveries.EnqueueAsync(system, new Sealpost.Crypto.Vault.OutboundMessage("alice@example.test", ["QueueRcptMarkerV6@partner.test"],
            new Dictionary<string, string?>(), [new Dictionary<string, string?>()], marked), "m1", CancellationToken.None);
        var claimed = Assert.Single(await r.Queue.ClaimAsync(system, "scan", TimeSpan.FromMinutes(5), 10, CancellationToken.None));
        await r.Queue.RecordAttemptAsync(system, "scan", claimed, claimed.Progress with
        {
            Recipients = [claimed.Progress.Recipients[0] with { LastReply = "451 4.7.1 QueueReplyMarkerH2 later" }],
        }, DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None);

        // With each credential, every message comes back byte-identical (and the first read re-wraps).
        foreach (var (address, secret, mailbox, expected) in new[]
                 {
                     ("alice@example.test", AlicePassword, aliceInbox, marked),
                     ("alice@example.test", appPassword, aliceInbox, marked),
                     ("bob@example.test", BobPassword, bobInbox, marked),
                     ("alice@example.test", AlicePassword, folderId, big),
                 })
        {
            using var session = (await r.Directory.LoginAsync(address, secret))!.Value.Session;
            using var opened = await r.Reader.OpenAsync(session, (await r.Store.Mail.GetMessageAsync(mailbox, 1))!);
            Assert.Equal(expected, await opened.ReadAllAsync());
            Assert.Contains("SubjMarkerW8N4", (await opened.ReadMetadataAsync()).Envelope.Subject);
        }

        Assert.Null(await r.Directory.LoginAsync("alice@example.test", BobPassword));
        Assert.Null(await r.Directory.LoginAsync("bob@example.test", AlicePassword));

        // Through the audited login path: a wrong password, and a password typed into the user-name
        // field (the trail records who tried, never what they typed as a secret).
        var client = Sealpost.Core.Access.Actor.Anonymous("imap", "192.0.2.1");
        Assert.Equal(Sealpost.Domain.LoginOutcome.Failed, (await r.Authentication.LoginAsync(client, "alice@example.test", BobPassword, "PLAIN")).Outcome);
        Assert.Equal(Sealpost.Domain.LoginOutcome.Failed, (await r.Authentication.LoginAsync(client, AlicePassword, AlicePassword, "LOGIN")).Outcome);
        var trail = await r.Audit.Store.SearchAsync(new Sealpost.Core.Audit.AuditQuery(Action: Sealpost.Core.Audit.AuditAction.LoginFailed));
        Assert.Equal(2, trail.Count);
        if (storeKind == "sqlite")
        {
            Assert.True(Directory.EnumerateFiles(Path.Combine(test.DataDirectory, SqliteStore.BlobFolderName), "*", SearchOption.AllDirectories).Any(), "the big message should live in a blob file");
        }

        var serverSecrets = await CollectServerSecretsAsync(test);
        var sealedValues = storeKind == "sqlite" ? null : await SealedValuesFromPostgresAsync(connection!);
        if (connection is not null)
        {
            // Push everything from shared buffers into the data files, so the scan sees heap pages as well as the WAL.
            await using var checkpoint = new Npgsql.NpgsqlConnection(connection);
            await checkpoint.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("CHECKPOINT", checkpoint);
            await command.ExecuteNonQueryAsync();
        }

        await r.Store.DisposeAsync(); // close connections; the WAL stays on disk and is scanned too

        var scanner = new MarkerScanner([.. ContentMarkers, AlicePassword, BobPassword, appPassword, appPassword.Replace("-", ""), "QueueRcptMarkerV6", "QueueReplyMarkerH2"]);
        // Positive control: the same scanner finds the markers in the plaintext we sealed.
        Assert.True(scanner.Scan("control", marked).Count >= 8);
        Assert.NotEmpty(scanner.Scan("control", big));
        var hits = new List<string>();
        hits.AddRange(scanner.ScanTree(test.Root));               // data folder, WAL, blob files, master key file, recovery key
        if (cluster is not null)
        {
            hits.AddRange(scanner.ScanTree(cluster.DataDirectory)); // PostgreSQL heap files and pg_wal
        }

        hits.AddRange(scanner.ScanTree(Path.GetTempPath(), started, 64L * 1024 * 1024));
        hits.AddRange(scanner.Scan("logs", Encoding.UTF8.GetBytes(test.Logs.ToString())));
        Assert.True(hits.Count == 0, "plaintext at rest:\n" + string.Join('\n', hits.Distinct()));
        if (storeKind == "sqlite")
        {
            // Control: the scan read the audit store, which does hold who tried (an address) in plaintext.
            var auditBytes = Directory.EnumerateFiles(test.DataDirectory, SqliteAuditStore.FileName + "*").SelectMany(File.ReadAllBytes).ToArray();
            Assert.NotEmpty(new MarkerScanner(["alice@example.test"]).Scan("audit store", auditBytes));
        }

        // The operator's view: data folder, configuration, master key, every server secret; no password.
        AssertNothingOpens(sealedValues ?? await SealedValuesFromSqliteAsync(test.DataDirectory), serverSecrets);
    }

    private static readonly (string Table, string Column)[] SealedColumns =
        [("mailboxes", "name_sealed"), ("keywords", "name_sealed"), ("messages", "wrapped_key"), ("credentials", "wrapped_key")];

    private static async Task<List<(string What, byte[] Value)>> SealedValuesFromPostgresAsync(string connectionString)
    {
        var values = new List<(string, byte[])>();
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var (table, column) in SealedColumns.Append(("blobs", "metadata")).Append(("blobs", "data")))
        {
            await using var command = new Npgsql.NpgsqlCommand($"SELECT {column} FROM {table} WHERE {column} IS NOT NULL", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                values.Add(($"{table}.{column}", (byte[])reader[0]));
            }
        }

        return values;
    }

    /// <summary>Every key the server itself holds: master key, keystore secrets, log key, and what HKDF makes of them.</summary>
    private static async Task<List<byte[]>> CollectServerSecretsAsync(TestRuntime test)
    {
        var master = KeyFiles.Read(test.Runtime.Options.Vault.MasterKeyFile, KeyFiles.MasterLabel, 32);
        var secrets = new List<byte[]> { master, test.Runtime.Folder.ReadLogKey(), test.Runtime.Keystore.QueueKey.ToArray() };
        foreach (var name in new[] { Keystore.DirectorySigningName, Keystore.AuditSigningName })
        {
            secrets.Add(await test.Runtime.Keystore.GetOrCreateSecretAsync(name, 32));
        }

        foreach (var secret in secrets.ToList())
        {
            foreach (var info in new[] { "sealpost/body/v1", "sealpost/metadata/v1", "content-wrap", "names" })
            {
                secrets.Add(HKDF.Expand(HashAlgorithmName.SHA256, secret, 32, Encoding.ASCII.GetBytes(info)));
            }
        }

        return secrets;
    }

    private static async Task<List<(string What, byte[] Value)>> SealedValuesFromSqliteAsync(string dataDirectory)
    {
        await using var connection = await SqliteFiles.OpenAsync(dataDirectory, readOnly: true);
        var sealedValues = new List<(string What, byte[] Value)>();
        foreach (var (table, column) in SealedColumns.Append(("blob_metadata", "metadata")).Append(("blobs", "inline_data")))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {column} FROM {table} WHERE {column} IS NOT NULL";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                sealedValues.Add(($"{table}.{column}", reader.GetFieldValue<byte[]>(0)));
            }
        }

        foreach (var file in Directory.EnumerateFiles(Path.Combine(dataDirectory, SqliteStore.BlobFolderName), "*", SearchOption.AllDirectories))
        {
            sealedValues.Add(("blob file", await File.ReadAllBytesAsync(file)));
        }

        return sealedValues;
    }

    private static void AssertNothingOpens(List<(string What, byte[] Value)> sealedValues, List<byte[]> keys)
    {
        Assert.NotEmpty(sealedValues);
        foreach (var (what, value) in sealedValues)
        {
            foreach (var key in keys)
            {
                Assert.False(Opens(key, value), $"{what} opened with a server-held key");
            }
        }
    }

    /// <summary>Tries the layouts our sealed values use: chunked blob, metadata envelope, name envelope, key wraps.</summary>
    private static bool Opens(byte[] key, byte[] value)
    {
        var attempts = new List<Func<byte[]>>
        {
            () => ChunkedAead.Open(key, value),
            () => OpenGcm(key, value, 20),  // metadata: "SPM1" | id | nonce | ct | tag
            () => OpenGcm(key, value, 5),   // names: 1 | version | nonce | ct | tag
            () => OpenGcm(key, value, 22),  // symmetric content-key wrap
            () => OpenGcm(key, value, 0),   // credential wrap
        };
        foreach (var attempt in attempts)
        {
            try
            {
                attempt();
                return true;
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
            }
        }

        return false;
    }

    // Opens nonce | ciphertext | tag after a header, with no associated data and with the header as associated data.
    private static byte[] OpenGcm(byte[] key, byte[] value, int headerLength)
    {
        if (value.Length < headerLength + 28)
        {
            throw new CryptographicException("short");
        }

        var body = value.AsSpan(headerLength);
        var plain = new byte[body.Length - 28];
        using var gcm = new AesGcm(key, 16);
        try
        {
            gcm.Decrypt(body[..12], body[12..^16], body[^16..], plain, value.AsSpan(0, headerLength));
        }
        catch (CryptographicException)
        {
            gcm.Decrypt(body[..12], body[12..^16], body[^16..], plain);
        }

        return plain;
    }
}
