using System.Collections.Concurrent;
using System.Net.Security;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Connections;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Domain;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Imap;

public enum ImapListenerKind { StartTls, ImplicitTls }

/// <summary>What an IMAP session needs from the host: domain services, never a store.</summary>
public sealed class ImapContext(
    SealpostOptions options,
    MailService mailService,
    AuthenticationService authentication,
    Func<string?, SslServerAuthenticationOptions> tlsOptions,
    LogRedactor redactor,
    ILogger logger,
    bool development,
    ConnectionGate connections,
    MessageMemoryBudget? messageMemory = null)
{
    private readonly ConcurrentDictionary<long, int> _sessionsPerAccount = new();

    public SealpostOptions Options { get; } = options;
    public ImapOptions Imap => Options.Imap;
    public MailService MailService { get; } = mailService;

    /// <summary>Access grants: another account's mailboxes a grantee reads, read-only, under "Other Users/"; null: none offered.</summary>
    public AccessGrantService? AccessGrants { get; init; }

    /// <summary>The server's stop: sessions end after their current command with BYE [UNAVAILABLE].</summary>
    public ShutdownSignal Shutdown { get; init; } = ShutdownSignal.None;

    /// <summary>Memory for sealing whole messages at once, shared with SMTP (null: unbounded).</summary>
    public Sealpost.Connections.MessageProcessingGate? MessageProcessing { get; init; }
    public AuthenticationService Authentication { get; } = authentication;
    public Func<string?, SslServerAuthenticationOptions> TlsOptions { get; } = tlsOptions;
    public LogRedactor Redactor { get; } = redactor;
    public ILogger Logger { get; } = logger;
    public bool Development { get; } = development;
    public ConnectionGate Connections { get; } = connections;

    /// <summary>Literal octets (APPEND) held by all sessions, shared with SMTP; null: unbounded.</summary>
    public MessageMemoryBudget? MessageMemory { get; } = messageMemory;

    /// <summary>Takes one of the account's session slots; false when <see cref="ImapOptions.MaxSessionsPerAccount"/> are in use.</summary>
    public bool TryEnterAccount(long accountId)
    {
        while (true)
        {
            var current = _sessionsPerAccount.GetOrAdd(accountId, 0);
            if (current >= Imap.MaxSessionsPerAccount)
            {
                return false;
            }

            if (_sessionsPerAccount.TryUpdate(accountId, current + 1, current))
            {
                return true;
            }
        }
    }

    /// <summary>Logged-in sessions' commands before new logins when the node is saturated (<see cref="ImapOptions.LoginQueueBusyCommands"/>).</summary>
    public LoginAdmission Admission { get; } = new(
        options.Imap.LoginQueueBusyCommands switch { 0 => Environment.ProcessorCount, var n => n },
        TimeSpan.FromSeconds(options.Imap.LoginQueueMaxWaitSeconds));

    public void LeaveAccount(long accountId) => _sessionsPerAccount.AddOrUpdate(accountId, 0, (_, n) => Math.Max(0, n - 1));
}
