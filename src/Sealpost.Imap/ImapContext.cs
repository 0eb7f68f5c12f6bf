using System.Collections.Concurrent;
using System.Net.Security;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Core.Connections;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Domain;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Imap;

public enum ImapListenerKind { StartTls, ImplicitTls }

/// <summary>What an IMAP session needs from the host: services, not stores' concrete types.</summary>
public sealed class ImapContext(
    SealpostOptions options,
    ISealpostStore store,
    DirectoryService directory,
    AuthenticationService authentication,
    MailboxService mailboxes,
    MessageReader reader,
    SealedDelivery delivery,
    Func<string?, SslServerAuthenticationOptions> tlsOptions,
    LogRedactor redactor,
    ILogger logger,
    bool development,
    LoginThrottle throttle,
    ConnectionGate connections,
    MessageMemoryBudget? messageMemory = null)
{
    private readonly ConcurrentDictionary<long, int> _sessionsPerAccount = new();

    public SealpostOptions Options { get; } = options;
    public ImapOptions Imap => Options.Imap;
    public ISealpostStore Store { get; } = store;
    public IMailStore Mail => Store.Mail;
    public DirectoryService Directory { get; } = directory;
    public AuthenticationService Authentication { get; } = authentication;
    public MailboxService Mailboxes { get; } = mailboxes;
    public MessageReader Reader { get; } = reader;
    public SealedDelivery Delivery { get; } = delivery;
    public Func<string?, SslServerAuthenticationOptions> TlsOptions { get; } = tlsOptions;
    public LogRedactor Redactor { get; } = redactor;
    public ILogger Logger { get; } = logger;
    public bool Development { get; } = development;
    public LoginThrottle Throttle { get; } = throttle;
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

    public void LeaveAccount(long accountId) => _sessionsPerAccount.AddOrUpdate(accountId, 0, (_, n) => Math.Max(0, n - 1));
}
