using Microsoft.Data.Sqlite;
using Sealpost.Core.Configuration;
using Sealpost.Core.Directory;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Store;

/// <summary>Every released schema version upgrades to the current one with its data intact.</summary>
public sealed class SqliteMigrationTests
{
    public static TheoryData<int> EarlierVersions()
    {
        var data = new TheoryData<int>();
        for (var v = 0; v < Schema.CurrentVersion; v++)
        {
            data.Add(v);
        }

        return data;
    }

    /// <summary>The tenant, domain and account the seeded rows belong to, as version 1 wrote them.</summary>
    private const string AccountRows = """
        INSERT INTO tenants(id, name, display_name, created_at) VALUES (1, 't', 'T', 0);
        INSERT INTO domains(id, tenant_id, name, created_at) VALUES (1, 1, 'example.test', 0);
        INSERT INTO accounts(id, domain_id, address, address_key, display_name, state, quota_bytes, roles, created_at)
            VALUES (1, 1, 'a@example.test', 'a@example.test', 'A', 0, 0, 1, 0);
        """;

    /// <summary>Runs the released migrations up to <paramref name="version"/> on a bare database, as a program of that version left it.</summary>
    private static async Task MigrateToAsync(SqliteConnection connection, int version)
    {
        for (var v = 0; v < version; v++)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = Schema.Migrations[v] + $"; INSERT INTO meta(key, value) VALUES ('schema_version', '{v + 1}') ON CONFLICT(key) DO UPDATE SET value = excluded.value;";
            await command.ExecuteNonQueryAsync();
        }
    }

    [Theory]
    [MemberData(nameof(EarlierVersions))]
    public async Task A_database_at_an_earlier_version_migrates_to_the_current_one(int version)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, SqliteStore.DatabaseFileName);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            SqliteStore.AttachKeys(connection); // migrations from 14 on write to keys.db, as the store runs them
            await MigrateToAsync(connection, version);

            if (version >= 1)
            {
                // Data as version 1 wrote it, including a credential row without the later columns.
                await using var seed = connection.CreateCommand();
                seed.CommandText = $"""
                    {AccountRows}
                    INSERT INTO addresses(address_key, address, domain_id, kind, account_id) VALUES ('a@example.test', 'a@example.test', 1, 0, 1);
                    INSERT INTO credentials(account_id, kind, label, verifier, created_at) VALUES (1, 0, 'password', 'old', 0);
                    """;
                await seed.ExecuteNonQueryAsync();
            }
        }

        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions());
        Assert.Equal(Schema.CurrentVersion, await store.GetSchemaVersionAsync());
        if (version >= 1)
        {
            var account = await store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse("a@example.test"));
            Assert.NotNull(account);
            var credential = Assert.Single(await store.Directory.ListCredentialsAsync(account.Id));
            Assert.Equal("old", credential.Verifier);
            Assert.Equal(0, credential.KeyVersion);
            Assert.Empty(credential.WrappedKey);
        }

        // The upgraded schema takes current writes.
        Assert.True(await store.Directory.TryAddKeystoreEntryAsync("probe", [1]));
    }

    /// <summary>With Store:EraseDeletedMail off the mail database stops overwriting what it frees; keys.db never does.</summary>
    [Theory]
    [InlineData(true, 1L)]
    [InlineData(false, 0L)]
    public async Task Erasing_deleted_mail_is_an_option_and_key_material_is_always_erased(bool erase, long mail)
    {
        using var folder = new TempFolder();
        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions { EraseDeletedMail = erase });
        Assert.Equal(mail, await store.WriterPragmaAsync("main.secure_delete"));
        Assert.Equal(1L, await store.WriterPragmaAsync("keys.secure_delete"));
    }

    /// <summary>
    /// Version 14: key material moves to keys.db (secure_delete always on); the mail database keeps no copy
    /// of a moved wrap, in its pages or its WAL.
    /// </summary>
    [Fact]
    public async Task Key_wraps_move_to_the_keys_file_and_leave_nothing_in_the_mail_database()
    {
        using var folder = new TempFolder();
        var wrap = System.Security.Cryptography.RandomNumberGenerator.GetBytes(60);
        const string Verifier = "$sp-argon2id$v=1$m=1024,t=1$moved-verifier-marker";
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(folder.Path, SqliteStore.DatabaseFileName)};Pooling=False"))
        {
            await connection.OpenAsync();
            await MigrateToAsync(connection, 13);

            await using var seed = connection.CreateCommand();
            seed.CommandText = $"""
                PRAGMA journal_mode=WAL;
                {AccountRows}
                INSERT INTO credentials(account_id, kind, label, verifier, created_at, key_version, wrapped_key) VALUES (1, 0, 'password', $verifier, 0, 1, $wrap);
                """;
            seed.Parameters.AddWithValue("$verifier", Verifier);
            seed.Parameters.AddWithValue("$wrap", wrap);
            await seed.ExecuteNonQueryAsync();
        }

        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions());
        Assert.Equal(wrap, Assert.Single(await store.Directory.ListCredentialsAsync(1)).WrappedKey);
        Assert.Equal(1L, await store.WriterPragmaAsync("keys.secure_delete"));
        Assert.Equal(1L, await store.WriterPragmaAsync("main.secure_delete")); // Store:EraseDeletedMail, on by default

        byte[][] patterns = [wrap, System.Text.Encoding.UTF8.GetBytes(Verifier)];
        bool Holds(string file) => File.Exists(file) && patterns.Any(p => File.ReadAllBytes(file).AsSpan().IndexOf(p) >= 0);
        var mail = Path.Combine(folder.Path, SqliteStore.DatabaseFileName);
        Assert.False(Holds(mail), "the mail database still holds the moved wrap");
        Assert.False(Holds(mail + "-wal"), "the mail database's WAL still holds the moved wrap");
        var keys = Path.Combine(folder.Path, SqliteStore.KeysFileName);
        Assert.True(Holds(keys) || Holds(keys + "-wal"), "the wrap should be in keys.db");
    }

    /// <summary>Version 6: sizes written as the sealed blob's length become the message's own octets.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(22)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(7_000_000)]
    public async Task Sealed_sizes_become_message_sizes(long plaintext)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, SqliteStore.DatabaseFileName);
        var sealedLength = Sealpost.Crypto.Primitives.ChunkedAead.SealedLength(plaintext);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await MigrateToAsync(connection, 5);

            await using var seed = connection.CreateCommand();
            seed.CommandText = $"""
                {AccountRows}
                INSERT INTO mailboxes(id, account_id, parent_id, name_key, name_sealed, role, uid_validity, uid_next, highest_modseq, message_count, total_size)
                    VALUES (1, 1, 0, x'01', x'01', 1, 1, 2, 2, 1, {sealedLength});
                INSERT INTO blobs(id, refcount, size, inline_data, created_at) VALUES (1, 1, {sealedLength}, x'00', 0);
                INSERT INTO messages(mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq)
                    VALUES (1, 1, 1, 0, '', 0, {sealedLength}, 2);
                """;
            await seed.ExecuteNonQueryAsync();
        }

        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions());
        Assert.Equal(plaintext, (await store.Mail.GetMessageAsync(1, 1))!.Size);
        Assert.Equal(plaintext, (await store.Mail.GetMailboxAsync(1))!.TotalSize);
    }

    /// <summary>Version 18: blob metadata moves to a table of its own; a message keeps its metadata, and a removed blob takes its metadata with it.</summary>
    [Fact]
    public async Task Blob_metadata_moves_to_its_own_table_and_goes_with_its_blob()
    {
        using var folder = new TempFolder();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(folder.Path, SqliteStore.DatabaseFileName)};Pooling=False"))
        {
            await connection.OpenAsync();
            SqliteStore.AttachKeys(connection);
            await MigrateToAsync(connection, 17);

            await using var seed = connection.CreateCommand();
            seed.CommandText = $"""
                {AccountRows}
                INSERT INTO mailboxes(id, account_id, parent_id, name_key, name_sealed, role, uid_validity, uid_next, highest_modseq, message_count, total_size)
                    VALUES (1, 1, 0, x'01', x'01', 1, 1, 3, 3, 2, 2);
                INSERT INTO blobs(id, refcount, size, inline_data, metadata, created_at) VALUES (1, 1, 1, x'00', x'0a0b0c', 0);
                INSERT INTO blobs(id, refcount, size, inline_data, metadata, created_at) VALUES (2, 1, 1, x'00', NULL, 0);
                INSERT INTO messages(mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq) VALUES (1, 1, 1, 0, '', 0, 1, 2);
                INSERT INTO messages(mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq) VALUES (1, 2, 2, 0, '', 0, 1, 3);
                """;
            await seed.ExecuteNonQueryAsync();
        }

        await using (var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions()))
        {
            Assert.Equal([0x0a, 0x0b, 0x0c], await store.Mail.GetBlobMetadataAsync(1));
            Assert.Null(await store.Mail.GetBlobMetadataAsync(2));
            var listed = Assert.Single(await store.Mail.ListSealedMetadataAsync(1, Sealpost.Core.Mail.UidRange.All)); // the message without metadata is left out
            Assert.Equal((1u, "0A0B0C"), (listed.Uid, Convert.ToHexString(listed.Metadata)));

            await store.Mail.ExpungeAsync(1, [1, 2]);
            await store.Mail.SweepOrphansAsync(TimeSpan.Zero);
            Assert.Null(await store.Mail.GetBlobMetadataAsync(1));
        }

        await using var check = new SqliteConnection($"Data Source={Path.Combine(folder.Path, SqliteStore.DatabaseFileName)};Pooling=False");
        await check.OpenAsync();
        await using var count = check.CreateCommand();
        count.CommandText = "SELECT (SELECT count(*) FROM blob_metadata) * 10 + (SELECT count(*) FROM pragma_table_info('blobs') WHERE name = 'metadata')";
        Assert.Equal(0L, await count.ExecuteScalarAsync()); // no metadata row left, no metadata column in blobs
    }

    [Fact]
    public async Task A_database_from_a_newer_program_is_refused_with_a_clear_message()
    {
        using var folder = new TempFolder();
        await using (var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions()))
        {
        }

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(folder.Path, SqliteStore.DatabaseFileName)};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '999' WHERE key = 'schema_version'";
            await command.ExecuteNonQueryAsync();
        }

        var refused = await Assert.ThrowsAsync<Sealpost.Core.SealpostException>(() => SqliteStore.OpenAsync(folder.Path, new StoreOptions()));
        Assert.Contains("newer than this program", refused.Message);
    }
}
