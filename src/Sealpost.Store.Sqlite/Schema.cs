namespace Sealpost.Store.Sqlite;

/// <summary>
/// Versioned schema. Each entry moves the database from version i to i+1 inside one transaction;
/// entries are never edited once released, only appended.
/// </summary>
internal static class Schema
{
    public static readonly string[] Migrations =
    [
        // 1: directory, mailboxes, messages, blobs, change log.
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE tenants (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE domains (
            id INTEGER PRIMARY KEY,
            tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL);
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            domain_id INTEGER NOT NULL REFERENCES domains(id),
            address TEXT NOT NULL,
            address_key TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            state INTEGER NOT NULL,
            quota_bytes INTEGER NOT NULL,
            roles INTEGER NOT NULL,
            credential_version INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL);
        CREATE TABLE groups (
            id INTEGER PRIMARY KEY,
            domain_id INTEGER NOT NULL REFERENCES domains(id),
            address TEXT NOT NULL,
            address_key TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL);
        -- One namespace for accounts, aliases and groups: an address means one thing.
        CREATE TABLE addresses (
            address_key TEXT PRIMARY KEY,
            address TEXT NOT NULL,
            domain_id INTEGER NOT NULL REFERENCES domains(id),
            kind INTEGER NOT NULL,
            account_id INTEGER REFERENCES accounts(id),
            group_id INTEGER REFERENCES groups(id),
            alias_target TEXT) WITHOUT ROWID;
        CREATE INDEX addresses_domain ON addresses(domain_id);
        CREATE TABLE group_members (
            group_id INTEGER NOT NULL REFERENCES groups(id),
            member_key TEXT NOT NULL,
            member_address TEXT NOT NULL,
            PRIMARY KEY (group_id, member_key)) WITHOUT ROWID;
        CREATE TABLE credentials (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            kind INTEGER NOT NULL,
            label TEXT NOT NULL,
            verifier TEXT NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE INDEX credentials_account ON credentials(account_id);
        CREATE TABLE mailboxes (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            parent_id INTEGER NOT NULL,
            name_key BLOB NOT NULL,
            name_sealed BLOB NOT NULL,
            role INTEGER NOT NULL,
            uid_validity INTEGER NOT NULL,
            uid_next INTEGER NOT NULL,
            highest_modseq INTEGER NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0,
            total_size INTEGER NOT NULL DEFAULT 0,
            subscribed INTEGER NOT NULL DEFAULT 0,
            UNIQUE (account_id, parent_id, name_key));
        CREATE UNIQUE INDEX mailboxes_role ON mailboxes(account_id, role) WHERE role <> 0;
        CREATE TABLE blobs (
            id INTEGER PRIMARY KEY,
            refcount INTEGER NOT NULL,
            size INTEGER NOT NULL,
            inline_data BLOB,
            file_name TEXT UNIQUE,
            metadata BLOB,
            created_at INTEGER NOT NULL);
        CREATE TABLE messages (
            mailbox_id INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            blob_id INTEGER NOT NULL,
            flags INTEGER NOT NULL,
            keywords TEXT NOT NULL,
            internal_date INTEGER NOT NULL,
            size INTEGER NOT NULL,
            modseq INTEGER NOT NULL,
            wrapped_key BLOB,
            PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;
        CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
        CREATE INDEX messages_blob ON messages(blob_id);
        -- kind: 0 appended, 1 flags changed, 2 expunged. QRESYNC VANISHED and JMAP changes read it.
        CREATE TABLE mail_changes (
            mailbox_id INTEGER NOT NULL,
            modseq INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            kind INTEGER NOT NULL);
        CREATE INDEX mail_changes_mailbox ON mail_changes(mailbox_id, modseq);
        CREATE TABLE keywords (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name_key BLOB NOT NULL,
            name_sealed BLOB NOT NULL,
            UNIQUE (account_id, name_key));
        """,

        // 2: sealed storage: key rings, credential wraps, recovery keys and wraps, keystore.
        """
        ALTER TABLE credentials ADD COLUMN key_version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE credentials ADD COLUMN wrapped_key BLOB NOT NULL DEFAULT x'';
        CREATE TABLE account_keys (
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            version INTEGER NOT NULL,
            public_key BLOB NOT NULL,
            signature BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, version)) WITHOUT ROWID;
        CREATE TABLE recovery_wraps (
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            key_version INTEGER NOT NULL,
            recovery_key_version INTEGER NOT NULL,
            wrapped_key BLOB NOT NULL,
            PRIMARY KEY (account_id, key_version, recovery_key_version)) WITHOUT ROWID;
        CREATE TABLE recovery_keys (
            version INTEGER PRIMARY KEY,
            public_key BLOB NOT NULL,
            signature BLOB NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE keystore (
            name TEXT PRIMARY KEY,
            sealed_value BLOB NOT NULL) WITHOUT ROWID;
        """,

        // 3: the outbound queue.
        """
        CREATE TABLE queue (
            id INTEGER PRIMARY KEY,
            sealed BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX queue_next ON queue(next_attempt_at);
        """,

        // 4: change-log retention: when each change was made, and how far a mailbox's log was pruned.
        """
        ALTER TABLE mail_changes ADD COLUMN at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE mailboxes ADD COLUMN changes_pruned_modseq INTEGER NOT NULL DEFAULT 0;
        """,

        // 5: failed logins, shared by every process on this store (throttling and the admins' lockout list).
        """
        CREATE TABLE login_failures (
            key TEXT NOT NULL,
            at INTEGER NOT NULL);
        CREATE INDEX login_failures_key ON login_failures(key, at);
        CREATE INDEX login_failures_at ON login_failures(at);
        """,
        // 6: a message's size is its octets as a client sees them (RFC822.SIZE), not its sealed blob's;
        // every blob so far was sealed with 64 KiB segments: a 30-byte header and a 16-byte tag per segment.
        """
        UPDATE messages SET size = (size - 30) - 16 * (((size - 30) + 65551) / 65552) WHERE size >= 46;
        UPDATE mailboxes SET total_size = (SELECT coalesce(sum(size), 0) FROM messages WHERE messages.mailbox_id = mailboxes.id);
        """,

        // 7: \Recent: the first UID no session has seen yet (what was there before the upgrade counts as seen).
        """
        ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;
        UPDATE mailboxes SET recent_uid = uid_next;
        """,

        // 8: the outbound queue is leased by workers, held by operators, and keeps each recipient's progress (sealed).
        """
        ALTER TABLE queue ADD COLUMN state INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE queue ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE queue ADD COLUMN progress BLOB;
        ALTER TABLE queue ADD COLUMN lease_owner TEXT;
        ALTER TABLE queue ADD COLUMN lease_until INTEGER;
        ALTER TABLE queue ADD COLUMN seal_version INTEGER NOT NULL DEFAULT 1;
        DROP INDEX queue_next;
        CREATE INDEX queue_due ON queue(state, next_attempt_at);
        """,

        // 9: what each account sent out recently (per-account sending limits, shared by every process).
        """
        CREATE TABLE send_counts (account_id INTEGER NOT NULL, at INTEGER NOT NULL, recipients INTEGER NOT NULL);
        CREATE INDEX send_counts_account ON send_counts(account_id, at);
        """,

        // 10: API sessions and tokens (found by a keyed hash of their secret) and second factors.
        """
        CREATE TABLE api_credentials (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            kind INTEGER NOT NULL,
            label TEXT NOT NULL,
            roles INTEGER NOT NULL,
            second_factor INTEGER NOT NULL,
            lookup_hash BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            last_used_at INTEGER,
            revoked_at INTEGER);
        CREATE INDEX api_credentials_account ON api_credentials(account_id);
        CREATE TABLE second_factors (
            account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
            sealed_secret BLOB NOT NULL,
            confirmed INTEGER NOT NULL,
            last_step INTEGER NOT NULL,
            recovery_codes TEXT NOT NULL);
        """,

        // 11: when an account's state changed (retention of deleted accounts counts from it).
        """
        ALTER TABLE accounts ADD COLUMN state_changed_at INTEGER NOT NULL DEFAULT 0;
        """,

        // 12: the domains an API token is limited to (space-separated A-labels; empty: no limit).
        """
        ALTER TABLE api_credentials ADD COLUMN domains TEXT NOT NULL DEFAULT '';
        """,

        // 13: when a login last used a credential (app passwords show it to their owner).
        """
        ALTER TABLE credentials ADD COLUMN last_used_at INTEGER;
        """,

        // 14: key material moves to keys.db (attached as 'keys', secure_delete always on), so removed wraps
        // are overwritten whatever Store:EraseDeletedMail says for the mail database. The old tables are
        // dropped with secure_delete on; the store truncates the WAL after migrating.
        // (No foreign keys across the two files: SQLite does not enforce them between databases.)
        """
        PRAGMA main.secure_delete = ON;
        CREATE TABLE keys.credentials (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            label TEXT NOT NULL,
            verifier TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            key_version INTEGER NOT NULL DEFAULT 0,
            wrapped_key BLOB NOT NULL DEFAULT x'',
            last_used_at INTEGER);
        CREATE INDEX keys.credentials_account ON credentials(account_id);
        INSERT INTO keys.credentials (id, account_id, kind, label, verifier, created_at, key_version, wrapped_key, last_used_at)
            SELECT id, account_id, kind, label, verifier, created_at, key_version, wrapped_key, last_used_at FROM main.credentials;
        DROP TABLE main.credentials;
        CREATE TABLE keys.account_keys (
            account_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            public_key BLOB NOT NULL,
            signature BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, version)) WITHOUT ROWID;
        INSERT INTO keys.account_keys SELECT account_id, version, public_key, signature, created_at FROM main.account_keys;
        DROP TABLE main.account_keys;
        CREATE TABLE keys.recovery_wraps (
            account_id INTEGER NOT NULL,
            key_version INTEGER NOT NULL,
            recovery_key_version INTEGER NOT NULL,
            wrapped_key BLOB NOT NULL,
            PRIMARY KEY (account_id, key_version, recovery_key_version)) WITHOUT ROWID;
        INSERT INTO keys.recovery_wraps SELECT account_id, key_version, recovery_key_version, wrapped_key FROM main.recovery_wraps;
        DROP TABLE main.recovery_wraps;
        CREATE TABLE keys.keystore (
            name TEXT PRIMARY KEY,
            sealed_value BLOB NOT NULL) WITHOUT ROWID;
        INSERT INTO keys.keystore SELECT name, sealed_value FROM main.keystore;
        DROP TABLE main.keystore;
        CREATE TABLE keys.second_factors (
            account_id INTEGER PRIMARY KEY,
            sealed_secret BLOB NOT NULL,
            confirmed INTEGER NOT NULL,
            last_step INTEGER NOT NULL,
            recovery_codes TEXT NOT NULL);
        INSERT INTO keys.second_factors SELECT account_id, sealed_secret, confirmed, last_step, recovery_codes FROM main.second_factors;
        DROP TABLE main.second_factors;
        CREATE TABLE keys.api_credentials (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            label TEXT NOT NULL,
            roles INTEGER NOT NULL,
            second_factor INTEGER NOT NULL,
            lookup_hash BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            last_used_at INTEGER,
            revoked_at INTEGER,
            domains TEXT NOT NULL DEFAULT '');
        CREATE INDEX keys.api_credentials_account ON api_credentials(account_id);
        INSERT INTO keys.api_credentials (id, account_id, kind, label, roles, second_factor, lookup_hash, created_at, expires_at, last_used_at, revoked_at, domains)
            SELECT id, account_id, kind, label, roles, second_factor, lookup_hash, created_at, expires_at, last_used_at, revoked_at, domains FROM main.api_credentials;
        DROP TABLE main.api_credentials;
        """,

        // 15: two-officer access grants, beside the key material (their wraps are overwritten when they end).
        """
        CREATE TABLE keys.access_grants (
            id TEXT PRIMARY KEY,
            grantee_account_id INTEGER NOT NULL,
            target_account_id INTEGER NOT NULL,
            justification TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at INTEGER NOT NULL,
            not_before INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            state INTEGER NOT NULL,
            approvals TEXT NOT NULL,
            holder_version INTEGER NOT NULL,
            wraps BLOB NOT NULL,
            ended_at INTEGER) WITHOUT ROWID;
        """,

        // 16: an address outside the mail system where the owner is told of a reset.
        """
        ALTER TABLE accounts ADD COLUMN notify_address TEXT NOT NULL DEFAULT '';
        """,

        // 17: subscriptions to names no mailbox has (a deleted mailbox's stays, RFC 9051 §6.3.7).
        """
        CREATE TABLE detached_subscriptions (
            account_id INTEGER NOT NULL,
            name_key BLOB NOT NULL,
            name_sealed BLOB NOT NULL,
            PRIMARY KEY (account_id, name_key)) WITHOUT ROWID;
        """,

        // 18: blob metadata in a table of its own. SEARCH and listings read it for every message of a mailbox;
        // in the blob row, behind the inline content, each message's read touched a page of its own.
        """
        CREATE TABLE blob_metadata (blob_id INTEGER PRIMARY KEY, metadata BLOB NOT NULL);
        INSERT INTO blob_metadata(blob_id, metadata) SELECT id, metadata FROM blobs WHERE metadata IS NOT NULL;
        ALTER TABLE blobs DROP COLUMN metadata;
        CREATE TRIGGER blob_metadata_goes_with_its_blob AFTER DELETE ON blobs BEGIN
            DELETE FROM blob_metadata WHERE blob_id = old.id;
        END;
        """,
    ];

    public static int CurrentVersion => Migrations.Length;
}
