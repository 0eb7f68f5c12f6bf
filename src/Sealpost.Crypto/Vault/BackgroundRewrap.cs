using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// After a login, the account's content keys that are not yet under their folder's key (mail delivered
/// while its owner was away, wrapped with HPKE) are re-wrapped in the background, so the owner's first
/// SEARCH or FETCH finds them symmetric. One account at a time, in chunks, under the store's account
/// lease (two nodes never do one account at once); an account done recently is not looked at again
/// (what arrives later is re-wrapped by its first read). Holds a copy of the session's keys only
/// while it works on that account.
/// </summary>
internal sealed class BackgroundRewrap : IAsyncDisposable
{
    private const int Chunk = 1000;

    /// <summary>
    /// Longest a chunk waits for users' bulk reads (a first SEARCH) to finish: their cores and the store's
    /// page cache go to them first (each re-wrap commit makes every reader re-read its pages), but reads that
    /// never stop do not hold the re-wrap back for good.
    /// </summary>
    private static readonly TimeSpan MaxYield = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Recently = TimeSpan.FromMinutes(5);
    private readonly IMailStore _store;
    private readonly MessageReader _reader;
    private readonly ILogger _logger;
    private readonly Channel<AccountSession> _queue = Channel.CreateBounded<AccountSession>(new BoundedChannelOptions(256) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, DateTimeOffset> _done = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, byte> _queued = new(); // one entry per account, however often it logs in meanwhile
    private long _working = -1; // the account being re-wrapped now
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;

    public BackgroundRewrap(IMailStore store, MessageReader reader, ILogger logger)
    {
        _store = store;
        _reader = reader;
        _logger = logger;
        _worker = Task.Run(WorkAsync);
    }

    /// <summary>Queues the account of a session just logged in (a copy of its keys; the caller keeps its own).</summary>
    /// <summary>True while the account waits for or is in its background re-wrap: reads leave the re-wrapping to it.</summary>
    public bool Covers(long accountId) => _queued.ContainsKey(accountId) || Volatile.Read(ref _working) == accountId;

    public void Add(AccountSession session)
    {
        if (_done.TryGetValue(session.AccountId, out var at) && DateTimeOffset.UtcNow - at < Recently)
        {
            return;
        }

        if (!_queued.TryAdd(session.AccountId, 0))
        {
            return; // already waiting: no second copy of its keys, no second pass
        }

        var copy = session.Copy();
        if (!_queue.Writer.TryWrite(copy))
        {
            _queued.TryRemove(session.AccountId, out _);
            copy.Dispose(); // busy: this account's first reads re-wrap instead
        }
    }

    private async Task WorkAsync()
    {
        await foreach (var session in _queue.Reader.ReadAllAsync())
        {
            using (session)
            {
                _queued.TryRemove(session.AccountId, out _);
                if (_stopping.IsCancellationRequested || (_done.TryGetValue(session.AccountId, out var at) && DateTimeOffset.UtcNow - at < Recently))
                {
                    continue;
                }

                Volatile.Write(ref _working, session.AccountId);
                try
                {
                    await RewrapAccountAsync(session, _stopping.Token);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                }
                catch (SealpostException ex)
                {
                    VaultLog.BackgroundRewrapFailed(_logger, session.AccountId, ex.Kind.ToString());
                }
                finally
                {
                    Volatile.Write(ref _working, -1);
                }
            }
        }
    }

    private async Task RewrapAccountAsync(AccountSession session, CancellationToken ct)
    {
        await using var lease = await _store.TryLeaseAccountAsync(session.AccountId, ct);
        if (lease is null)
        {
            return; // another node (or an earlier login here) is at it
        }

        var clock = Stopwatch.StartNew();
        var count = 0;
        foreach (var mailbox in await _store.ListMailboxesAsync(session.AccountId, ct))
        {
            var rows = await _store.ListMessagesAsync(mailbox.Id, UidRange.All, ct);
            var pending = rows.Where(r => r.WrappedKey is { } wrapped && ContentKeyWrap.FolderOf(wrapped) != mailbox.Id).Select(r => r.Uid).ToList();
            foreach (var chunk in pending.Chunk(Chunk))
            {
                ct.ThrowIfCancellationRequested();
                await _reader.Foreground.IdleAsync(MaxYield, ct);
                await _reader.RefileAsync(session, mailbox.Id, chunk, ct);
                count += chunk.Length;
            }
        }

        _done[session.AccountId] = DateTimeOffset.UtcNow;
        if (count > 0)
        {
            VaultLog.BackgroundRewrapped(_logger, session.AccountId, count, clock.Elapsed.TotalSeconds);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _worker;
        while (_queue.Reader.TryRead(out var left))
        {
            left.Dispose();
        }

        _stopping.Dispose();
    }
}
