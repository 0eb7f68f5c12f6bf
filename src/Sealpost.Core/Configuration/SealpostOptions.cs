namespace Sealpost.Core.Configuration;

// Every option has a documented default (docs/configuration.md). Keys are the property paths,
// e.g. "Limits:MaxMessageBytes", overridable by the environment as SEALPOST_Limits__MaxMessageBytes.

public sealed class SealpostOptions
{
    /// <summary>Folder for the database, blob files and generated certificates.</summary>
    public string DataDirectory { get; set; } = "/var/lib/sealpost";

    /// <summary>Where <c>sealpost backup</c> writes (a folder per backup); empty: beside the data folder, its name with "-backups".</summary>
    public string BackupDirectory { get; set; } = "";

    /// <summary><see cref="BackupDirectory"/>, or its default beside the data folder.</summary>
    public string EffectiveBackupDirectory =>
        BackupDirectory.Length > 0 ? BackupDirectory : System.IO.Path.GetFullPath(DataDirectory).TrimEnd('/') + "-backups";

    /// <summary>The name this server announces (SMTP greeting, IMAP, certificates).</summary>
    public string Hostname { get; set; } = "localhost";

    public StoreOptions Store { get; set; } = new();

    public TlsOptions Tls { get; set; } = new();

    public HttpOptions Http { get; set; } = new();

    public SmtpOptions Smtp { get; set; } = new();

    public ImapOptions Imap { get; set; } = new();

    public LimitOptions Limits { get; set; } = new();

    public PasswordHashingOptions PasswordHashing { get; set; } = new();

    public VaultOptions Vault { get; set; } = new();

    public LoggingOptions Log { get; set; } = new();

    public AuditOptions Audit { get; set; } = new();

    public DeliveryOptions Delivery { get; set; } = new();

    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>Fills list defaults that binding left empty.</summary>
    public SealpostOptions WithListDefaults()
    {
        if (Http.Listen.Count == 0)
        {
            Http.Listen.AddRange(HttpOptions.DefaultListen);
        }

        if (Smtp.InboundListen.Count == 0)
        {
            Smtp.InboundListen.Add("0.0.0.0:25");
        }

        if (Smtp.SubmissionListen.Count == 0)
        {
            Smtp.SubmissionListen.Add("0.0.0.0:587");
        }

        if (Smtp.SubmissionTlsListen.Count == 0)
        {
            Smtp.SubmissionTlsListen.Add("0.0.0.0:465");
        }

        if (Imap.Listen.Count == 0)
        {
            Imap.Listen.Add("0.0.0.0:143");
        }

        if (Imap.TlsListen.Count == 0)
        {
            Imap.TlsListen.Add("0.0.0.0:993");
        }

        return this;
    }
}

public sealed class StoreOptions
{
    /// <summary>"sqlite" (embedded default) or "postgres".</summary>
    public string Kind { get; set; } = "sqlite";

    /// <summary>
    /// PostgreSQL connection string (Npgsql syntax), e.g. "Host=db1;Database=sealpost;Username=sealpost;SSL Mode=VerifyFull".
    /// Better given through the environment (SEALPOST_Store__ConnectionString) than written in the file.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply schema migrations when the server starts (otherwise run 'sealpost migrate').</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>How long a writer waits for another process's write lock (SQLite).</summary>
    public int BusyTimeoutMilliseconds { get; set; } = 10_000;

    /// <summary>
    /// SQLite: overwrite what the mail database deletes (secure_delete), so an expunged or shredded
    /// message's ciphertext does not stay in free pages. Off makes expunges cheaper; key material is
    /// always overwritten (keys.db).
    /// </summary>
    public bool EraseDeletedMail { get; set; } = true;

    /// <summary>Blobs up to this size live inside the database, so one WAL fsync covers a group commit.</summary>
    public int InlineBlobMaxBytes { get; set; } = 64 * 1024;

    /// <summary>Most write operations committed together in one group commit.</summary>
    public int GroupCommitMaxOperations { get; set; } = 256;

    /// <summary>A blob file with no row is removed by the sweep only after this age (minutes).</summary>
    public int OrphanGraceMinutes { get; set; } = 60;

    /// <summary>How often the orphan sweep runs in the server (minutes).</summary>
    public int SweepIntervalMinutes { get; set; } = 30;

    /// <summary>How long expunges stay in the change log for QRESYNC/JMAP resync; older clients get a full (still correct) resync.</summary>
    public int ChangeLogRetentionDays { get; set; } = 90;
}

public sealed class TlsOptions
{
    /// <summary>Certificates, chosen by SNI host name; the first is the default.</summary>
    public List<CertificateOptions> Certificates { get; set; } = [];

    /// <summary>"Tls12" or "Tls13": the oldest protocol accepted.</summary>
    public string MinimumProtocol { get; set; } = "Tls12";

    /// <summary>
    /// TLS 1.2 suites: "Default" (the runtime's list: ECDHE only, AES-GCM and AES-CBC with SHA-2 MACs;
    /// one OpenSSL context shared by all connections) or "AeadOnly" (ECDHE with AES-GCM/ChaCha20 only;
    /// the runtime then builds an OpenSSL context per connection, about 12 KB more each).
    /// </summary>
    public string CipherSuites { get; set; } = "Default";

    /// <summary>How often certificate files are checked for changes (seconds); 0 disables polling.</summary>
    public int ReloadCheckSeconds { get; set; } = 60;

    /// <summary>Certificates obtained and renewed from an ACME CA (RFC 8555), the customer's own or a public one.</summary>
    public AcmeOptions Acme { get; set; } = new();
}

public sealed class AcmeOptions
{
    /// <summary>The keystore name the ACME certificate is kept under (tls/acme/chain, tls/acme/key).</summary>
    public const string KeystoreName = "acme";

    /// <summary>The CA's ACME directory URL (https). Empty: ACME is off.</summary>
    public string DirectoryUrl { get; set; } = "";

    /// <summary>Contact address given to the CA for expiry notices (optional).</summary>
    public string Email { get; set; } = "";

    /// <summary>
    /// Host names the certificate covers. Empty: <c>Hostname</c> plus <c>autoconfig.D</c> and
    /// <c>mta-sts.D</c> for every domain served (a domain added later is added at the next check).
    /// </summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>Plain-HTTP listener for the http-01 challenge ("address:port", port 80 in production); it answers nothing else.</summary>
    public string ChallengeListen { get; set; } = "0.0.0.0:80";

    /// <summary>PEM file of the CA that signs the ACME server's own HTTPS certificate (a private CA). Empty: the system's roots.</summary>
    public string TrustedCaFile { get; set; } = "";

    /// <summary>Renew when the certificate has fewer days than this left.</summary>
    public int RenewDaysBefore { get; set; } = 30;

    /// <summary>How often the certificate is checked against its expiry and host names (minutes).</summary>
    public int CheckMinutes { get; set; } = 720;

    /// <summary>After a failed order, how long until the next try (seconds).</summary>
    public int RetrySeconds { get; set; } = 300;
}

public sealed class CertificateOptions
{
    /// <summary>Host names this certificate serves (SNI). Empty: taken from the certificate's names.</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>PEM certificate (chain) file; goes with <see cref="KeyFile"/>.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM private key file.</summary>
    public string? KeyFile { get; set; }

    /// <summary>PKCS#12 file holding certificate and key (instead of the PEM pair).</summary>
    public string? Pkcs12File { get; set; }

    /// <summary>Environment variable holding the PKCS#12 password (never the password itself in the file).</summary>
    public string? Pkcs12PasswordEnvironmentVariable { get; set; }

    /// <summary>A certificate imported with 'sealpost tls import NAME': chain and private key held sealed in the keystore.</summary>
    public string? Keystore { get; set; }
}

public sealed class HttpOptions
{
    public static readonly string[] DefaultListen = ["0.0.0.0:443"];

    /// <summary>HTTPS listeners for health, console and API, as "address:port". Default 0.0.0.0:443.</summary>
    /// <remarks>Starts empty: the configuration binder appends to lists, so defaults are applied after binding.</remarks>
    public List<string> Listen { get; set; } = [];

    /// <summary>Largest request body the admin API reads, in bytes; larger ones get 413.</summary>
    public int MaxRequestBodyBytes { get; set; } = 256 * 1024;

    /// <summary>How long a sign-in session (browser cookie or `sealpost login`) lasts, in minutes.</summary>
    public int SessionMinutes { get; set; } = 480;

    /// <summary>A sign-in session not used for this many minutes ends (tokens are not affected).</summary>
    public int SessionIdleMinutes { get; set; } = 60;

    /// <summary>Longest lifetime an API token may be given, in days.</summary>
    public int MaxTokenDays { get; set; } = 365;

    /// <summary>Largest page a list endpoint returns (the default page is 100).</summary>
    public int MaxPageSize { get; set; } = 500;
}

public sealed class SmtpOptions
{
    /// <summary>Inbound MTA listeners (port 25): no AUTH, local recipients only. Default 0.0.0.0:25.</summary>
    public List<string> InboundListen { get; set; } = [];

    /// <summary>Submission with STARTTLS (port 587). Default 0.0.0.0:587.</summary>
    public List<string> SubmissionListen { get; set; } = [];

    /// <summary>Submission over implicit TLS (port 465, RFC 8314). Default 0.0.0.0:465.</summary>
    public List<string> SubmissionTlsListen { get; set; } = [];

    /// <summary>Allow AUTH without TLS from loopback addresses (development only; refused outside --dev).</summary>
    public bool AllowPlaintextAuthOnLoopback { get; set; }

    /// <summary>
    /// Expect a PROXY protocol v2 header on every SMTP connection (listeners behind a load balancer).
    /// The client address comes from it; a proxied connection never counts as loopback.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>DNS servers ("address:port") for SPF, DKIM and DMARC; empty: the system's resolvers (when <see cref="UseSystemDns"/>).</summary>
    public List<string> DnsServers { get; set; } = [];

    /// <summary>Use the system's resolvers when no DNS server is configured. Off: no sender authentication (dev, tests).</summary>
    public bool UseSystemDns { get; set; } = true;

    /// <summary>
    /// What a DMARC failure on port 25 leads to: "record" (Authentication-Results only), "quarantine"
    /// (delivered to Junk) or "reject" (550 5.7.1 when the sender's domain publishes p=reject or p=quarantine).
    /// </summary>
    public string AuthenticationPolicy { get; set; } = "record";

    /// <summary>The Public Suffix List for DMARC's organisational domains (Debian package publicsuffix); empty: last two labels.</summary>
    public string PublicSuffixList { get; set; } = "/usr/share/publicsuffix/public_suffix_list.dat";

    /// <summary>"reject" or "normalize": what to do with a bare LF or CR in message data (SMTP smuggling).</summary>
    public string BareLineEnds { get; set; } = "reject";

    /// <summary>
    /// Port 25 mail whose envelope sender or From header is in one of our own domains: "refuse"
    /// (550 5.7.1 unless it comes from a trusted relay or carries a passing DKIM signature aligned
    /// with that domain; our own users send through submission) or "accept".
    /// </summary>
    public string OwnDomainSenders { get; set; } = "refuse";

    /// <summary>
    /// The MTA-STS policy (RFC 8461) published for every hosted domain at
    /// https://mta-sts.DOMAIN/.well-known/mta-sts.txt: "none", "testing" (senders report, still deliver) or
    /// "enforce" (senders deliver only over TLS to this host with a valid certificate).
    /// </summary>
    public string MtaStsMode { get; set; } = "testing";

    /// <summary>How long senders may keep the MTA-STS policy (days).</summary>
    public int MtaStsMaxAgeDays { get; set; } = 7;

    /// <summary>Addresses or networks (CIDR) of relays trusted to send mail in our own domains on port 25 (e.g. a department's scanner gateway).</summary>
    public List<string> TrustedRelays { get; set; } = [];

    /// <summary>Idle time allowed between commands (seconds; RFC 5321 §4.5.3.2.7 says at least 300).</summary>
    public int CommandTimeoutSeconds { get; set; } = 300;

    /// <summary>
    /// The whole time one command line may take to arrive once its first octet has (seconds): a line comes
    /// in one packet from any real client, so one that trickles in a byte at a time is cut here, not at the
    /// idle timeout that each new byte would restart.
    /// </summary>
    public int CommandLineSeconds { get; set; } = 30;

    /// <summary>Idle time allowed while receiving message data (seconds).</summary>
    public int DataTimeoutSeconds { get; set; } = 600;

    /// <summary>Errors in one session before it is closed with 421.</summary>
    public int MaxErrorsPerSession { get; set; } = 10;

    /// <summary>A message that takes a mailbox this far over its quota is still accepted (octets).</summary>
    public long QuotaGraceBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>
    /// How long SMTP reuses directory answers about a recipient (domain, address expansion, Inbox,
    /// mailbox usage), in seconds; 0 looks up every time. Unknown addresses and account keys are never cached.
    /// </summary>
    public int LookupCacheSeconds { get; set; } = 5;
}

public sealed class ImapOptions
{
    /// <summary>IMAP with STARTTLS (143).</summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>IMAP over implicit TLS (993).</summary>
    public List<string> TlsListen { get; set; } = [];

    /// <summary>Development only: LOGIN/AUTHENTICATE without TLS from loopback clients.</summary>
    public bool AllowPlaintextAuthOnLoopback { get; set; }

    /// <summary>Expect a PROXY protocol v2 header on every connection (behind a load balancer).</summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>Longest command line outside literals, in octets.</summary>
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>Largest literal, and so largest APPEND (advertised as APPENDLIMIT, RFC 7889).</summary>
    public long AppendLimitBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>BAD answers in one session before the server says BYE.</summary>
    public int MaxBadCommands { get; set; } = 20;

    /// <summary>Inactivity before an authenticated session is closed (RFC 9051 §5.4: at least 30 minutes).</summary>
    public int IdleTimeoutMinutes { get; set; } = 30;

    /// <summary>
    /// The whole time a connection may take to log in (from its greeting), however it trickles its input:
    /// a session still unauthenticated after this is closed.
    /// </summary>
    public int PreAuthTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// The whole time one command may take to arrive once its first octet has (its line and every literal),
    /// so a client that stalls inside a literal does not hold its share of the message memory for long.
    /// </summary>
    public int CommandTimeoutSeconds { get; set; } = 600;

    /// <summary>Largest literal before login: enough for a user name and password, nothing a client could park data in.</summary>
    public int MaxPreAuthLiteralBytes { get; set; } = 8 * 1024;

    /// <summary>Concurrent sessions of one account.</summary>
    public int MaxSessionsPerAccount { get; set; } = 50;

    /// <summary>
    /// Commands of logged-in sessions and started logins running at once on this node from which a
    /// new LOGIN or AUTHENTICATE waits its turn (first come, first served, one let in per one that
    /// ends), so logged-in users are served first when the node is saturated; 0: one per processor;
    /// less than 0: logins never wait.
    /// </summary>
    public int LoginQueueBusyCommands { get; set; }

    /// <summary>Longest a login waits for that turn before it starts anyway (seconds).</summary>
    public int LoginQueueMaxWaitSeconds { get; set; } = 10;
}

public sealed class LimitOptions
{
    /// <summary>Largest message accepted (octets).</summary>
    public long MaxMessageBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>
    /// Message data all SMTP sessions may hold at once while receiving and delivering (octets); past
    /// it a message is refused with 452 4.3.1 (try later). At least MaxMessageBytes.
    /// </summary>
    public long MaxMessageMemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// The share of <see cref="MaxMessageMemoryBytes"/> the connections of one client address may hold
    /// together (octets), so one address cannot take the whole budget; 0: a quarter of it, but at least
    /// MaxMessageBytes.
    /// </summary>
    public long MaxMessageMemoryPerAddressBytes { get; set; }

    /// <summary>The per-address share in effect.</summary>
    public long MessageMemoryPerAddress => MaxMessageMemoryPerAddressBytes > 0
        ? MaxMessageMemoryPerAddressBytes
        : Math.Min(MaxMessageMemoryBytes, Math.Max(MaxMessageBytes, MaxMessageMemoryBytes / 4));

    /// <summary>
    /// How much of a message being received by SMTP is kept in memory (octets); the rest waits in a sealed,
    /// unnamed file under the data folder's <c>incoming/</c> until the message is complete. 0: all in memory.
    /// </summary>
    public long MessageSpillBytes { get; set; } = 1024 * 1024;

    /// <summary>Most recipients of one message.</summary>
    public int MaxRecipients { get; set; } = 1000;

    /// <summary>Longest protocol command line (octets).</summary>
    public int MaxCommandLineBytes { get; set; } = 8192;

    /// <summary>Deepest MIME nesting parsed before the rest is treated as opaque.</summary>
    public int MaxMimeDepth { get; set; } = 32;

    /// <summary>Deepest group-in-group nesting expanded at delivery.</summary>
    public int MaxGroupNesting { get; set; } = 8;

    /// <summary>Most addresses one delivery may expand to.</summary>
    public int MaxExpandedRecipients { get; set; } = 10_000;

    /// <summary>Concurrent connections from one IP address, per protocol.</summary>
    public int MaxConnectionsPerIp { get; set; } = 50;

    /// <summary>Failed authentications before a connection is dropped.</summary>
    public int MaxAuthFailures { get; set; } = 3;

    /// <summary>Failed logins from one client address within <see cref="AuthFailureWindowMinutes"/> before it is refused (454 4.7.0).</summary>
    public int MaxAuthFailuresPerAddress { get; set; } = 20;

    /// <summary>Failed logins for one account within <see cref="AuthFailureWindowMinutes"/> before it is refused.</summary>
    public int MaxAuthFailuresPerAccount { get; set; } = 10;

    /// <summary>The window over which failed logins are counted (minutes).</summary>
    public int AuthFailureWindowMinutes { get; set; } = 15;

    /// <summary>
    /// Days a client address stays familiar after a good login to an account: past the account's
    /// failure limit, a familiar address is still let through on its own count, so guessing from
    /// elsewhere cannot lock the owner out.
    /// </summary>
    public int FamiliarAddressDays { get; set; } = 30;

    /// <summary>
    /// Days a deleted account's mail and keys are kept (for a hand-over through recovery) before the
    /// server crypto-shreds it; 0: never automatically (shred with DELETE ?shred=true or `user shred`).
    /// </summary>
    public int DeletedAccountRetentionDays { get; set; } = 30;

    /// <summary>Concurrent connections per protocol in total.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// On SIGTERM: how long sessions get to finish (seconds). The listeners close at once; an IMAP
    /// session ends with BYE [UNAVAILABLE] after its current command, an SMTP session with 421 after its
    /// transaction in flight; whatever is still running after this is cut.
    /// </summary>
    public int ShutdownSeconds { get; set; } = 30;

    /// <summary>
    /// Below this much free space (MiB) on the data folder's file system the node reports itself
    /// unavailable ("disk full") so a load balancer sends clients elsewhere before writes fail; 0: no check.
    /// </summary>
    public long MinFreeDiskMegabytes { get; set; } = 256;

    /// <summary>Default quota of a new account (octets); 0 for none.</summary>
    public long DefaultQuotaBytes { get; set; } = 10L * 1024 * 1024 * 1024;
}

public sealed class PasswordHashingOptions
{
    /// <summary>"production", or "test-only-insecure" (cheap parameters for test suites; refused by production serve).</summary>
    public string Profile { get; set; } = "production";

    /// <summary>Argon2id memory in KiB (floor 19456 in production, per OWASP).</summary>
    public int MemoryKiB { get; set; } = 64 * 1024;

    /// <summary>Argon2id passes (floor 2 in production).</summary>
    public int Iterations { get; set; } = 3;

    /// <summary>Argon2id computations at once (each takes MemoryKiB); more wait their turn. 0: one per processor.</summary>
    public int MaxConcurrent { get; set; }
}

public sealed class VaultOptions
{
    /// <summary>
    /// File holding the master key that seals the keystore, for folders made with <c>init --unseal file</c>
    /// (and --dev folders, which keep it inside). Folders made with officers' shares (the default) ignore it.
    /// </summary>
    public string MasterKeyFile { get; set; } = "/etc/sealpost/master.key";

    /// <summary>Unix socket (mode 0600) where a sealed server takes officers' shares; default DATA/unseal.sock.</summary>
    public string? UnsealSocket { get; set; }

    /// <summary>How long an unlocked login is cached (seconds); every hit re-checks credential version and account state. 0 disables.</summary>
    public int LoginCacheSeconds { get; set; } = 300;

    /// <summary>Most cached logins.</summary>
    public int LoginCacheMaxEntries { get; set; } = 100_000;

    /// <summary>How often every node ends the access grants whose time is up and deletes their keys (seconds).</summary>
    public int GrantExpirySweepSeconds { get; set; } = 30;

    /// <summary>
    /// Whether a mailbox's owner is told (in their inbox, and at their notify address) when an access
    /// grant to it becomes active: who reads, from when until when. Off by default: an investigation
    /// usually must not warn its subject; the organisation's policy decides.
    /// </summary>
    public bool TellOwnersOfGrants { get; set; }

    /// <summary>Decrypted message metadata kept in memory for SEARCH, SORT and ENVELOPE (0: none).</summary>
    public int MetadataCacheEntries { get; set; } = 200_000;

    /// <summary>
    /// How long a node wraps the mail it delivers to one account under one delivery batch key (sealed to
    /// the account's public key once; at most 10,000 messages each), so a first read of mail delivered
    /// while the user was away costs one X25519 per batch instead of per message. 0: one HPKE per message.
    /// </summary>
    public int DeliveryBatchSeconds { get; set; } = 300;

    /// <summary>
    /// An HSM that auto-unseals the server (a folder made with <c>init --unseal pkcs11</c>): the master key
    /// is kept wrapped by a non-extractable AES key inside it.
    /// </summary>
    public Pkcs11Options Pkcs11 { get; set; } = new();

    /// <summary>A TPM 2.0 that auto-unseals the server (a folder made with <c>init --unseal tpm2</c>).</summary>
    public Tpm2Options Tpm2 { get; set; } = new();

    /// <summary>Peer unseal: a node fetches the master key from an unsealed node over mutual TLS.</summary>
    public PeerOptions Peer { get; set; } = new();

    /// <summary>How often a sealed server retries its auto-unseal provider after a failure (seconds).</summary>
    public int AutoUnsealRetrySeconds { get; set; } = 30;

    /// <summary>How long an enrolment token can be redeemed after it was issued (hours).</summary>
    public int EnrolmentTokenHours { get; set; } = 14 * 24;
}

public sealed class Tpm2Options
{
    /// <summary>How tpm2-tools reach the TPM (TPM2TOOLS_TCTI): the kernel's resource manager by default.</summary>
    public string Tcti { get; set; } = "device:/dev/tpmrm0";
}

public sealed class PeerOptions
{
    /// <summary>
    /// An unsealed node hands its master key, over mutual TLS on this address, to nodes whose certificate
    /// the security officers approved (<c>sealpost peer approve</c>). Empty: not served.
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>A sealed node asks this unsealed peer (https://host:port) for the master key. Empty: not asked.</summary>
    public string? Url { get; set; }

    /// <summary>This node's certificate (PEM): its identity as a client, and the peer listener's certificate.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The private key of <see cref="CertificateFile"/> (PEM, mode 0600).</summary>
    public string? KeyFile { get; set; }
}

public sealed class Pkcs11Options
{
    /// <summary>The PKCS#11 module of the HSM (e.g. /usr/lib/softhsm/libsofthsm2.so).</summary>
    public string? Library { get; set; }

    /// <summary>The label of the token holding the wrapping key.</summary>
    public string? TokenLabel { get; set; }

    /// <summary>A file (mode 0600) holding the token's user PIN.</summary>
    public string? PinFile { get; set; }

    /// <summary>The label of the AES key that wraps the master key (made by init).</summary>
    public string KeyLabel { get; set; } = "sealpost-master-wrap";
}

public sealed class LoggingOptions
{
    /// <summary>Trace, Debug, Information, Warning, Error, Critical.</summary>
    public string Level { get; set; } = "Information";

    /// <summary>"text" or "json".</summary>
    public string Format { get; set; } = "text";

    /// <summary>Raw protocol traces (they contain mail). Refused outside --dev.</summary>
    public bool ProtocolTrace { get; set; }
}

public sealed class AuditOptions
{
    /// <summary>
    /// "default" (DATA/audit.db, or the audit database beside PostgreSQL), or "discard-benchmark-only":
    /// records are thrown away, for measuring what auditing costs; refused outside a --dev data folder.
    /// </summary>
    public string Store { get; set; } = "default";

    /// <summary>This node's name in every audit record it appends (default: the machine's host name).</summary>
    public string? Node { get; set; }

    /// <summary>
    /// PostgreSQL deployments: the audit database, apart from the mail store (ideally an insert-only
    /// role's login). Default: the store's connection string with the database name suffixed "_audit".
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>How long an append waits for the audit store's lock before the store counts as unavailable.</summary>
    public int BusyTimeoutMilliseconds { get; set; } = 5_000;

    /// <summary>Login and delivery events the local spool holds while the audit store is unavailable; past it, logins are refused.</summary>
    public int SpoolMaxEvents { get; set; } = 100_000;

    /// <summary>Shortest time between two audit commits: events arriving meanwhile share the next one (0: commit each at once).</summary>
    public int GroupCommitMilliseconds { get; set; } = 5;

    /// <summary>Seconds between signed checkpoints of the chain head (one is also made at shutdown).</summary>
    public int CheckpointIntervalSeconds { get; set; } = 300;

    /// <summary>host:port of the auditors' syslog collector (RFC 5424 over TLS, RFC 5425); empty: heads are only pulled.</summary>
    public string? Collector { get; set; }

    /// <summary>Seconds between pushes of the signed chain head to the collector.</summary>
    public int CollectorIntervalSeconds { get; set; } = 60;

    /// <summary>PEM file of the CA that signs the collector's certificate; empty: the system's trust store.</summary>
    public string? CollectorCaFile { get; set; }

    /// <summary>Name the collector's certificate must carry; empty: the host part of <see cref="Collector"/>.</summary>
    public string? CollectorServerName { get; set; }
}

/// <summary>Outbound delivery: the queue's workers, retries, routes and the connections they make.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Whether this node's workers deliver queued mail (nodes of one store share the queue; any may deliver).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Messages this node delivers at once.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 20;

    /// <summary>Connections this node holds open to one destination host at once.</summary>
    public int MaxConnectionsPerDestination { get; set; } = 10;

    /// <summary>Messages sent over one connection before it is closed (RSET between them).</summary>
    public int MaxMessagesPerConnection { get; set; } = 100;

    /// <summary>Seconds an idle outbound connection is kept for the next message to the same host.</summary>
    public int IdleConnectionSeconds { get; set; } = 10;

    /// <summary>How long a worker's claim on a message lasts; a crashed worker's messages go to another after it.</summary>
    public int LeaseSeconds { get; set; } = 600;

    /// <summary>Seconds between looks at the queue when nothing woke the workers (new mail on this node wakes them at once).</summary>
    public int PollSeconds { get; set; } = 5;

    /// <summary>Minutes between attempts, in turn; the last repeats. Default 5 minutes rising to 4 hours.</summary>
    public List<int> RetryMinutes { get; set; } = [];

    public static readonly int[] DefaultRetryMinutes = [5, 10, 20, 40, 80, 160, 240];

    /// <summary>Hours after which the sender is told the message is delayed (RFC 3464 "delayed" report); 0: never.</summary>
    public int WarnAfterHours { get; set; } = 4;

    /// <summary>Hours after which undelivered recipients are given up and bounced.</summary>
    public int ExpireAfterHours { get; set; } = 120;

    /// <summary>Seconds to wait for a connection to a mail host.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>Seconds to wait for any reply from a mail host (RFC 5321 §4.5.3.2 allows minutes; 300 covers DATA).</summary>
    public int CommandTimeoutSeconds { get; set; } = 300;

    /// <summary>"host:port" all outbound mail is relayed through, unless a domain has a route; empty: MX lookup.</summary>
    public string? SmartHost { get; set; }

    /// <summary>Per-destination-domain routes, like Postfix's transport map: domain → host, port, TLS, AUTH.</summary>
    public Dictionary<string, DeliveryRoute> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Always use TLS with a valid certificate, for every destination (otherwise STARTTLS when offered).</summary>
    public bool RequireTls { get; set; }

    /// <summary>Messages one account may send to other organisations per hour; past it the account's outbound mail is held for an operator (0: no limit).</summary>
    public int MaxMessagesPerAccountPerHour { get; set; } = 1000;

    /// <summary>Outside recipients one account may send to per hour; past it the account's outbound mail is held (0: no limit).</summary>
    public int MaxRecipientsPerAccountPerHour { get; set; } = 5000;

    /// <summary>Test-only: the port MX hosts are reached on instead of 25; refused with the production password profile.</summary>
    public int TestMxPort { get; set; }

    /// <summary>
    /// DANE for SMTP (RFC 7672): where a destination's MX records and its hosts' TLSA records are
    /// proved by DNSSEC, TLS is required and the certificate must match a TLSA record. Needs a
    /// validating resolver in Smtp:DnsServers (its AD bit is trusted, so it must be local or on a trusted path).
    /// </summary>
    public bool Dane { get; set; } = true;

    /// <summary>Honour destination domains' MTA-STS policies (RFC 8461): under "enforce", only the policy's MX hosts, with verified TLS.</summary>
    public bool MtaSts { get; set; } = true;

    /// <summary>
    /// Send daily TLS-RPT reports (RFC 8460) to the domains we deliver to that ask for them (a
    /// "_smtp._tls" TXT record): per day and policy, how many sessions negotiated TLS and which failed, and why.
    /// </summary>
    public bool TlsReports { get; set; }

    /// <summary>The reports' From and contact address; an address in one of our domains, so the report is DKIM-signed.</summary>
    public string TlsReportsFrom { get; set; } = "";

    /// <summary>The organisation named as the reports' submitter. Empty: the host name.</summary>
    public string TlsReportsOrganization { get; set; } = "";

    /// <summary>How often finished days are looked for and reported (minutes).</summary>
    public int TlsReportsCheckMinutes { get; set; } = 60;

    /// <summary>Test-only: the port MTA-STS policies are fetched from instead of 443; refused with the production password profile.</summary>
    public int TestMtaStsPort { get; set; }

    /// <summary>Test-only: a PEM file of extra roots trusted for verified TLS; refused with the production password profile.</summary>
    public string? TestTrustedRootsFile { get; set; }

    public IReadOnlyList<int> RetrySchedule => RetryMinutes.Count > 0 ? RetryMinutes : DefaultRetryMinutes;
}

/// <summary>Where mail for one domain goes instead of its MX hosts.</summary>
public sealed class DeliveryRoute
{
    /// <summary>Host name or address.</summary>
    public string Host { get; set; } = "";

    public int Port { get; set; } = 25;

    /// <summary>Refuse to deliver without TLS and a certificate valid for <see cref="Host"/>.</summary>
    public bool RequireTls { get; set; }

    /// <summary>AUTH user name, if the route needs one (TLS is then required).</summary>
    public string? Username { get; set; }

    /// <summary>A file holding the AUTH password (kept out of the configuration file).</summary>
    public string? PasswordFile { get; set; }
}

public sealed class MetricsOptions
{
    /// <summary>
    /// Where to push the metrics over OTLP/HTTP (protobuf), the collector's metrics URL, e.g.
    /// http://otel-collector:4318/v1/metrics; empty: only the Prometheus scrape endpoint.
    /// </summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>How often metrics are pushed over OTLP (seconds).</summary>
    public int OtlpIntervalSeconds { get; set; } = 60;
}
