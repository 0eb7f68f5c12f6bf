using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Store.Postgres;

namespace Sealpost.Server.Hosting;

/// <summary>
/// A node whose database is a streaming standby (the disaster-recovery site's, before any failure):
/// it has its master key already (unsealed by shares, an HSM, a TPM or a peer), serves health as
/// "standby" with the replay delay, and greets on its STARTTLS ports with SMTP <c>421</c> or IMAP
/// <c>BYE [UNAVAILABLE]</c>. It checks the database every second; when a host is promoted (by Patroni
/// or by hand) the gate closes and the node opens its store and serves, waiting for no officer.
/// </summary>
internal static class StandbyGate
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    /// <summary>Returns at once unless the store's database is a standby; then waits until it is promoted.</summary>
    public static async Task WaitForPrimaryAsync(SealpostOptions options, string mode, string sealState, ILoggerFactory loggers, Action<string>? announce, CancellationToken ct)
    {
        if (options.Store.Kind != "postgres" || string.IsNullOrWhiteSpace(options.Store.ConnectionString))
        {
            return;
        }

        var (role, detail) = await PostgresStore.DatabaseRoleAsync(options.Store.ConnectionString, ct);
        if (role != DatabaseRole.Standby)
        {
            return; // a primary to serve from, or an outage the store reports when it opens
        }

        var logger = loggers.CreateLogger("Sealpost.Standby");
        using var listeners = GateListeners.Create(options, loggers, "standby", "is a standby until its database is promoted", "health");
        var app = listeners.Builder.Build();
        var cause = detail;
        IResult Standby() => Results.Json(new HealthReport("standby", SealpostServer.Version, options.Store.Kind, 0, mode, sealState, string.IsNullOrWhiteSpace(options.Audit.Node) ? Environment.MachineName : options.Audit.Node)
        {
            Clock = ClockState.Read().State,
            Cause = Volatile.Read(ref cause),
        }, statusCode: 503);
        app.MapGet("/health/live", () => Results.Json(new { status = "live" }));
        app.MapGet("/health", Standby);
        app.MapGet("/health/ready", Standby);
        app.MapFallback(() => Results.Problem(statusCode: 503, title: "Standby", detail: "this node serves once its database is promoted"));
        await app.StartAsync(ct);
        try
        {
            StandbyLog.Waiting(logger, detail);
            announce?.Invoke("Standby: the store's database is a streaming standby; this node serves as soon as it is promoted.");
            listeners.Announce(announce);
            while (true)
            {
                await Task.Delay(CheckEvery, ct);
                (role, detail) = await PostgresStore.DatabaseRoleAsync(options.Store.ConnectionString, ct);
                if (role == DatabaseRole.Primary)
                {
                    break;
                }

                Volatile.Write(ref cause, detail); // still a standby, or not answering for now: keep waiting
            }

            StandbyLog.Promoted(logger);
            announce?.Invoke("Promoted: the store's database takes writes; starting.");
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }
}

/// <summary>Standby log events, in the host's range.</summary>
internal static partial class StandbyLog
{
    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Standby: {State}; serving once it is promoted")]
    public static partial void Waiting(ILogger logger, string state);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Information, Message = "Promoted: the store's database takes writes; the node starts serving")]
    public static partial void Promoted(ILogger logger);
}
