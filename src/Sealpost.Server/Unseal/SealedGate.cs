using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Server.Hosting;

namespace Sealpost.Server.Unseal;

/// <summary>A share as the unseal endpoints take it.</summary>
public sealed record ShareRequest(string? Share);

/// <summary>What the unseal endpoints answer: how far the officers are, never anything of the key.</summary>
public sealed record UnsealStatus(bool Sealed, int Received, int Threshold, int Missing, string ShareSet)
{
    /// <summary>The auto-unseal providers this server is waiting for besides shares (HSM, TPM, peer), if any.</summary>
    public string? AlsoWaitingFor { get; init; }
}

/// <summary>
/// A production server before the officers' shares arrive. It holds no key, so it serves only what
/// needs none: the unseal endpoint on a mode-0600 Unix socket (and on HTTPS where every certificate is
/// a plain file), health answering "sealed", and the STARTTLS ports, which greet with IMAP
/// <c>BYE [UNAVAILABLE]</c> or SMTP <c>421 4.3.0</c> so clients retry later. Implicit-TLS ports stay
/// unbound until unseal, because their keys may be in the keystore. When the threshold is reached the
/// gate closes and the real listeners bind the same ports.
/// </summary>
public static class SealedGate
{
    public const string SocketName = "unseal.sock";

    public static string SocketPath(SealpostOptions options) =>
        string.IsNullOrWhiteSpace(options.Vault.UnsealSocket) ? Path.Combine(options.DataDirectory, SocketName) : options.Vault.UnsealSocket;

    /// <summary>Serves the sealed listeners until k good shares arrive; returns the unsealer holding the master key.</summary>
    public static async Task<Unsealer> WaitAsync(SealpostOptions options, ShareSet set, ILoggerFactory loggers, Action<string>? announce, CancellationToken ct)
    {
        var logger = loggers.CreateLogger("Sealpost.Unseal");
        var unsealer = new Unsealer(set);
        var socket = SocketPath(options);
        if (File.Exists(socket))
        {
            File.Delete(socket); // left by a killed process; a running server holds the data folder's audit lock first
        }

        using var listeners = GateListeners.Create(options, loggers, "sealed", "is sealed until its security officers unseal it", "health, unseal",
            kestrel => kestrel.ListenUnixSocket(socket));
        var app = listeners.Builder.Build();
        UnsealStatus Status()
        {
            var progress = unsealer.Status;
            var providers = new[] { set.Auto?.ToString(), string.IsNullOrWhiteSpace(options.Vault.Peer.Url) ? null : "peer " + options.Vault.Peer.Url }.OfType<string>().ToList();
            return new UnsealStatus(!progress.Unsealed, progress.Received, progress.Threshold, progress.Missing, set.SetId)
            {
                AlsoWaitingFor = providers.Count == 0 ? null : string.Join("; ", providers),
            };
        }

        app.MapGet("/health/live", () => Results.Json(new { status = "live" }));
        IResult Sealed() => Results.Json(new HealthReport("sealed", SealpostServer.Version, options.Store.Kind, 0, "production",
            $"sealed: {unsealer.Status.Received} of {set.Threshold} shares given (set {set.SetId})" + (set.Auto is { } a ? $"; waiting for {a}" : "")
            + (string.IsNullOrWhiteSpace(options.Vault.Peer.Url) ? "" : $"; asking peer {options.Vault.Peer.Url}")) { Clock = ClockState.Read().State }, statusCode: 503);
        app.MapGet("/health", Sealed);
        app.MapGet("/health/ready", Sealed);
        app.MapGet("/v1/unseal", () => Results.Json(Status()));
        app.MapPost("/v1/unseal", async (HttpContext http) =>
        {
            ShareRequest? request;
            try
            {
                request = await http.Request.ReadFromJsonAsync<ShareRequest>(http.RequestAborted);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: "send {\"share\": \"sealpost-share-v1:...\"} as JSON");
            }

            var progress = unsealer.Submit(request?.Share ?? "");
            var from = http.Connection.RemoteIpAddress is { } address ? "https from " + address : "unix socket";
            if (progress.Error is { } error)
            {
                UnsealLog.ShareRefused(logger, from, error);
                return Results.Problem(statusCode: 422, title: "Share refused", detail: error);
            }

            UnsealLog.ShareAccepted(logger, from, progress.Received, progress.Threshold);
            return Results.Json(Status());
        });
        app.MapFallback(() => Results.Problem(statusCode: 503, title: "Sealed", detail: "the server is sealed until its security officers unseal it"));

        await app.StartAsync(ct);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            UnsealLog.Sealed(logger, set.Threshold, set.Shares, set.SetId);
            announce?.Invoke($"Sealed: waiting for {set.Threshold} of {set.Shares} security officers' shares (set {set.SetId}).");
            announce?.Invoke($"  Each officer runs: sealpost unseal --data {options.DataDirectory}   (socket {socket})");
            listeners.Announce(announce);

            if (set.Auto is { } auto)
            {
                announce?.Invoke($"  Auto-unseal: {auto} (tried every {options.Vault.AutoUnsealRetrySeconds} s; shares are accepted meanwhile)");
                _ = AutoUnsealAsync(options, auto.ToString(), token => Task.Run(() => auto.Unwrap(options), token), unsealer, logger, ct);
            }

            if (!string.IsNullOrWhiteSpace(options.Vault.Peer.Url))
            {
                announce?.Invoke($"  Peer unseal: asking {options.Vault.Peer.Url} (every {options.Vault.AutoUnsealRetrySeconds} s; shares are accepted meanwhile)");
                _ = AutoUnsealAsync(options, $"peer {options.Vault.Peer.Url}", token => PeerUnsealListener.FetchAsync(options.Vault.Peer, token), unsealer, logger, ct);
            }

            await unsealer.MasterKey.WaitAsync(ct);
            UnsealLog.Unsealed(logger, unsealer.Describe());
            return unsealer;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            File.Delete(socket);
        }
    }

    /// <summary>Asks the auto-unseal provider for the master key until it yields one this folder accepts, or shares unseal first.</summary>
    private static async Task AutoUnsealAsync(SealpostOptions options, string source, Func<CancellationToken, Task<byte[]>> fetch, Unsealer unsealer, ILogger logger, CancellationToken ct)
    {
        while (!unsealer.MasterKey.IsCompleted && !ct.IsCancellationRequested)
        {
            try
            {
                var key = await fetch(ct);
                if (unsealer.SubmitMasterKey(key, source))
                {
                    return;
                }

                UnsealLog.AutoUnsealFailed(logger, source, "it yielded a key this folder's share set does not accept (another deployment, or unseal.json replaced?)");
            }
            catch (Core.SealpostException ex)
            {
                UnsealLog.AutoUnsealFailed(logger, source, ex.Message);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                // Never a silent end of the loop: say so, and keep trying (shares still unseal meanwhile).
                UnsealLog.AutoUnsealFailed(logger, source, "unexpected " + ex.GetType().Name);
            }

            try
            {
                await unsealer.MasterKey.WaitAsync(TimeSpan.FromSeconds(options.Vault.AutoUnsealRetrySeconds), ct);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>Unseal log events, ids 2300-2319. They name share numbers and counts, never share values.</summary>
internal static partial class UnsealLog
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Sealed: waiting for {Threshold} of {Shares} officers' shares (set {SetId})")]
    public static partial void Sealed(ILogger logger, int threshold, int shares, string setId);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Unseal share accepted ({From}): {Received} of {Threshold}")]
    public static partial void ShareAccepted(ILogger logger, string from, int received, int threshold);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Unseal share refused ({From}): {Reason}")]
    public static partial void ShareRefused(ILogger logger, string from, string reason);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Information, Message = "Unsealed: {How}")]
    public static partial void Unsealed(ILogger logger, string how);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Error, Message = "Auto-unseal by {Provider} failed: {Reason}; still sealed, retrying")]
    public static partial void AutoUnsealFailed(ILogger logger, string provider, string reason);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Information, Message = "Peer unseal: master key handed to {Address} (certificate sha256 {Fingerprint})")]
    public static partial void PeerServed(ILogger logger, string address, string fingerprint);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Warning, Message = "Peer unseal refused to {Address}: certificate sha256 {Fingerprint} is not approved")]
    public static partial void PeerRefused(ILogger logger, string address, string fingerprint);
}
