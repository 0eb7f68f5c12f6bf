namespace Sealpost.Store.Postgres;

/// <summary>Versioned schema; entries are only ever appended. Applied under an advisory lock, so nodes starting together migrate once.</summary>
internal static class PostgresSchema
{
    public static readonly string[] Migrations =
    [
        // 1: the whole contract (directory, key rings, keystore, mailboxes, messages, blobs, change log).
        """
        CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE tenants (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, display_name text NOT NULL, created_at bigint NOT NULL);
        CREATE TABLE domains (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants(id), name text NOT NULL UNIQUE, created_at bigint NOT NULL);
        CREATE TABLE accounts (
            id bigserial PRIMARY KEY, domain_id bigint NOT NULL REFERENCES domains(id), address text NOT NULL, address_key text NOT NULL UNIQUE,
            display_name text NOT NULL, state int NOT NULL, quota_bytes bigint NOT NULL, roles int NOT NULL,
            credential_version int NOT NULL DEFAULT 0, created_at bigint NOT NULL);
        CREATE TABLE groups (id bigserial PRIMARY KEY, domain_id bigint NOT NULL REFERENCES domains(id), address text NOT NULL, address_key text NOT NULL UNIQUE, display_name text NOT NULL);
        CREATE TABLE addresses (
            address_key text PRIMARY KEY, address text NOT NULL, domain_id bigint NOT NULL REFERENCES domains(id), kind int NOT NULL,
            account_id bigint REFERENCES accounts(id), group_id bigint REFERENCES groups(id), alias_target text);
        CREATE INDEX addresses_domain ON addresses(domain_id);
        CREATE TABLE group_members (group_id bigint NOT NULL REFERENCES groups(id), member_key text NOT NULL, member_address text NOT NULL, PRIMARY KEY (group_id, member_key));
        CREATE TABLE credentials (
            id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), kind int NOT NULL, label text NOT NULL, verifier text NOT NULL,
            key_version int NOT NULL, wrapped_key bytea NOT NULL, created_at bigint NOT NULL);
        CREATE INDEX credentials_account ON credentials(account_id);
        CREATE TABLE account_keys (account_id bigint NOT NULL REFERENCES accounts(id), version int NOT NULL, public_key bytea NOT NULL, signature bytea NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (account_id, version));
        CREATE TABLE recovery_wraps (account_id bigint NOT NULL REFERENCES accounts(id), key_version int NOT NULL, recovery_key_version int NOT NULL, wrapped_key bytea NOT NULL, PRIMARY KEY (account_id, key_version, recovery_key_version));
        CREATE TABLE recovery_keys (version int PRIMARY KEY, public_key bytea NOT NULL, signature bytea NOT NULL, created_at bigint NOT NULL);
        CREATE TABLE keystore (name text PRIMARY KEY, sealed_value bytea NOT NULL);
        CREATE TABLE mailboxes (
            id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), parent_id bigint NOT NULL, name_key bytea NOT NULL, name_sealed bytea NOT NULL,
            role int NOT NULL, uid_validity bigint NOT NULL, uid_next bigint NOT NULL, highest_modseq bigint NOT NULL,
            message_count int NOT NULL DEFAULT 0, total_size bigint NOT NULL DEFAULT 0, subscribed boolean NOT NULL DEFAULT false,
            UNIQUE (account_id, parent_id, name_key));
        CREATE UNIQUE INDEX mailboxes_role ON mailboxes(account_id, role) WHERE role <> 0;
        CREATE TABLE blobs (id bigserial PRIMARY KEY, refcount int NOT NULL, size bigint NOT NULL, data bytea NOT NULL, metadata bytea, created_at bigint NOT NULL);
        CREATE TABLE messages (
            mailbox_id bigint NOT NULL, uid bigint NOT NULL, blob_id bigint NOT NULL, flags int NOT NULL, keywords int[] NOT NULL,
            internal_date bigint NOT NULL, size bigint NOT NULL, modseq bigint NOT NULL, wrapped_key bytea, PRIMARY KEY (mailbox_id, uid));
        CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
        CREATE INDEX messages_blob ON messages(blob_id);
        CREATE TABLE mail_changes (mailbox_id bigint NOT NULL, modseq bigint NOT NULL, uid bigint NOT NULL, kind int NOT NULL);
        CREATE INDEX mail_changes_mailbox ON mail_changes(mailbox_id, modseq);
        CREATE TABLE keywords (id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), name_key bytea NOT NULL, name_sealed bytea NOT NULL, UNIQUE (account_id, name_key));
        """,

        // 2: the outbound queue.
        """
        CREATE TABLE queue (id bigserial PRIMARY KEY, sealed bytea NOT NULL, created_at bigint NOT NULL, next_attempt_at bigint NOT NULL, attempts int NOT NULL DEFAULT 0);
        CREATE INDEX queue_next ON queue(next_attempt_at);
        """,

        // 3: change-log retention: when each change was made, and how far a mailbox's log was pruned.
        """
        ALTER TABLE mail_changes ADD COLUMN at bigint NOT NULL DEFAULT 0;
        ALTER TABLE mailboxes ADD COLUMN changes_pruned_modseq bigint NOT NULL DEFAULT 0;
        """,

        // 4: failed logins, shared by every node (throttling and the admins' lockout list).
        """
        CREATE TABLE login_failures (key text NOT NULL, at bigint NOT NULL);
        CREATE INDEX login_failures_key ON login_failures(key, at);
        CREATE INDEX login_failures_at ON login_failures(at);
        """,
        // 5: a message's size is its octets as a client sees them (RFC822.SIZE), not its sealed blob's;
        // every blob so far was sealed with 64 KiB segments: a 30-byte header and a 16-byte tag per segment.
        """
        UPDATE messages SET size = (size - 30) - 16 * (((size - 30) + 65551) / 65552) WHERE size >= 46;
        UPDATE mailboxes SET total_size = (SELECT coalesce(sum(size), 0) FROM messages WHERE messages.mailbox_id = mailboxes.id);
        """,

        // 6: \Recent: the first UID no session has seen yet (what was there before the upgrade counts as seen).
        """
        ALTER TABLE mailboxes ADD COLUMN recent_uid bigint NOT NULL DEFAULT 1;
        UPDATE mailboxes SET recent_uid = uid_next;
        """,

        // 7: the outbound queue is leased by workers, held by operators, and keeps each recipient's progress (sealed).
        """
        ALTER TABLE queue ADD COLUMN state int NOT NULL DEFAULT 0;
        ALTER TABLE queue ADD COLUMN size bigint NOT NULL DEFAULT 0;
        ALTER TABLE queue ADD COLUMN progress bytea;
        ALTER TABLE queue ADD COLUMN lease_owner text;
        ALTER TABLE queue ADD COLUMN lease_until bigint;
        ALTER TABLE queue ADD COLUMN seal_version int NOT NULL DEFAULT 1;
        DROP INDEX queue_next;
        CREATE INDEX queue_due ON queue(state, next_attempt_at);
        """,

        // 8: what each account sent out recently (per-account sending limits, shared by every node).
        """
        CREATE TABLE send_counts (account_id bigint NOT NULL, at bigint NOT NULL, recipients int NOT NULL);
        CREATE INDEX send_counts_account ON send_counts(account_id, at);
        """,

        // 9: API sessions and tokens (found by a keyed hash of their secret) and second factors.
        """
        CREATE TABLE api_credentials (
            id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), kind int NOT NULL, label text NOT NULL,
            roles int NOT NULL, second_factor boolean NOT NULL, lookup_hash bytea NOT NULL UNIQUE, created_at bigint NOT NULL,
            expires_at bigint NOT NULL, last_used_at bigint, revoked_at bigint);
        CREATE INDEX api_credentials_account ON api_credentials(account_id);
        CREATE TABLE second_factors (
            account_id bigint PRIMARY KEY REFERENCES accounts(id), sealed_secret bytea NOT NULL, confirmed boolean NOT NULL,
            last_step bigint NOT NULL, recovery_codes text NOT NULL);
        """,

        // 10: when an account's state changed (retention of deleted accounts counts from it).
        """
        ALTER TABLE accounts ADD COLUMN state_changed_at bigint NOT NULL DEFAULT 0;
        """,

        // 11: the domains an API token is limited to (space-separated A-labels; empty: no limit).
        """
        ALTER TABLE api_credentials ADD COLUMN domains text NOT NULL DEFAULT '';
        """,

        // 12: when a login last used a credential (app passwords show it to their owner).
        """
        ALTER TABLE credentials ADD COLUMN last_used_at bigint;
        """,

        // 13: two-officer access grants.
        """
        CREATE TABLE access_grants (
            id text PRIMARY KEY, grantee_account_id bigint NOT NULL REFERENCES accounts(id), target_account_id bigint NOT NULL REFERENCES accounts(id),
            justification text NOT NULL, requested_by text NOT NULL, requested_at bigint NOT NULL, not_before bigint NOT NULL, expires_at bigint NOT NULL,
            state int NOT NULL, approvals text NOT NULL, holder_version int NOT NULL, wraps bytea NOT NULL, ended_at bigint);
        """,

        // 14: an address outside the mail system where the owner is told of a reset.
        """
        ALTER TABLE accounts ADD COLUMN notify_address text NOT NULL DEFAULT '';
        """,

        // 15: subscriptions to names no mailbox has (a deleted mailbox's stays, RFC 9051 §6.3.7).
        """
        CREATE TABLE detached_subscriptions (
            account_id bigint NOT NULL REFERENCES accounts(id), name_key bytea NOT NULL, name_sealed bytea NOT NULL,
            PRIMARY KEY (account_id, name_key));
        """,
    ];

    public static int CurrentVersion => Migrations.Length;
}
