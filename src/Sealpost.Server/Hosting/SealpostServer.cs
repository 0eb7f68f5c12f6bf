using System.Net;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Metrics;
using Sealpost.Imap;
using Sealpost.Domain;
using Sealpost.Smtp;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Configuration;
using Sealpost.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Sealpost.Server.Tls;

namespace Sealpost.Server.Hosting;

/// <summary>How to start a server.</summary>
/// <param name="Announce">Lines for the operator's terminal while the server waits sealed.</param>
public sealed record ServerStartOptions(SealpostOptions Options, bool Dev, TextWriter? LogSink = null, Action<string>? Announce = null);

/// <summary>
/// One process, every listener: today the HTTPS endpoint (health; console and API later). SMTP
/// and IMAP listeners join this host as Kestrel connection handlers, sharing its certificates,
/// runtime and lifetime.
/// </summary>
public sealed class SealpostServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly PosixSignalRegistration? _sighup;

    private readonly IReadOnlyList<(Enum Kind, ConnectionListener Listener)> _listeners;
    private readonly ShutdownSignal _shutdown;

    private Unseal.PeerUnsealListener? _peer;

    /// <summary>The ACME certificate's renewal, when Tls:Acme is on.</summary>
    public AcmeRenewal? Acme { get; private init; }

    /// <summary>Where the ACME http-01 challenge listener answers, when Tls:Acme is on.</summary>
    public IPEndPoint? AcmeChallengeEndpoint { get; private init; }

    /// <summary>What the SMTP listeners' sessions are given: a transcript test runs a session on it over an in-memory pipe.</summary>
    internal SmtpContext SmtpContext { get; private init; } = null!;

    /// <summary>What the IMAP listeners' sessions are given.</summary>
    internal ImapContext ImapContext { get; private init; } = null!;

    /// <summary>Where this node serves peer unseal (mutual TLS), if it does.</summary>
    public IPEndPoint? PeerEndPoint => _peer?.EndPoint;

    private SealpostServer(WebApplication app, SealpostRuntime runtime, CertificateStore certificates, IReadOnlyList<Uri> https, IReadOnlyList<(Enum Kind, ConnectionListener Listener)> listeners, PosixSignalRegistration? sighup, ShutdownSignal shutdown)
    {
        _listeners = listeners;
        _shutdown = shutdown;
        ImapEndpoints = listeners.Where(l => l.Kind is ImapListenerKind).Select(l => ((ImapListenerKind)l.Kind, l.Listener.EndPoint)).ToList();
        SmtpEndpoints = listeners.Where(l => l.Kind is SmtpListenerKind).Select(l => ((SmtpListenerKind)l.Kind, l.Listener.EndPoint)).ToList();
        _app = app;
        Runtime = runtime;
        Certificates = certificates;
        HttpsEndpoints = https;
        _sighup = sighup;
    }

    /// <summary>Bound SMTP endpoints by listener kind (real ports, also when configured with port 0).</summary>
    public IReadOnlyList<(SmtpListenerKind Kind, IPEndPoint EndPoint)> SmtpEndpoints { get; }

    public IPEndPoint SmtpEndpoint(SmtpListenerKind kind) => SmtpEndpoints.First(e => e.Kind == kind).EndPoint;

    /// <summary>Bound IMAP endpoints by listener kind.</summary>
    public IReadOnlyList<(ImapListenerKind Kind, IPEndPoint EndPoint)> ImapEndpoints { get; }

    public IPEndPoint ImapEndpoint(ImapListenerKind kind) => ImapEndpoints.First(e => e.Kind == kind).EndPoint;

    public SealpostRuntime Runtime { get; }

    public CertificateStore Certificates { get; }

    /// <summary>Bound HTTPS endpoints (real ports, also when configured with port 0).</summary>
    public IReadOnlyList<Uri> HttpsEndpoints { get; }

    /// <summary>Every HTTP endpoint mapped (tests check each against the permission matrix).</summary>
    internal IEnumerable<Microsoft.AspNetCore.Http.Endpoint> HttpEndpoints =>
        _app.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints;

    public static string Version =>
        typeof(SealpostServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static async Task<SealpostServer> StartAsync(ServerStartOptions start, CancellationToken ct = default)
    {
        var options = start.Options;
        if (!start.Dev && options.PasswordHashing.Profile == OptionsValidator.TestProfile)
        {
            throw new SealpostException(ErrorKind.Forbidden,
                $"PasswordHashing:Profile: '{OptionsValidator.TestProfile}' is for test suites and is refused outside --dev");
        }

        if (!start.Dev && options.Smtp.AllowPlaintextAuthOnLoopback)
        {
            throw new SealpostException(ErrorKind.Forbidden, "Smtp:AllowPlaintextAuthOnLoopback: passwords without TLS are refused outside --dev");
        }

        if (!start.Dev && options.Imap.AllowPlaintextAuthOnLoopback)
        {
            throw new SealpostException(ErrorKind.Forbidden, "Imap:AllowPlaintextAuthOnLoopback: passwords without TLS are refused outside --dev");
        }

        if (!start.Dev && options.Log.ProtocolTrace)
        {
            throw new SealpostException(ErrorKind.Forbidden, "Log:ProtocolTrace: raw protocol traces contain mail and are refused outside --dev");
        }

        var folder = new DataFolder(options.DataDirectory);
        folder.RequireServable(start.Dev);
        if (!start.Dev)
        {
            ProcessHardening.Apply();
        }
        if (options.Tls.Certificates.Count == 0)
        {
            throw SealpostException.Invalid("Tls:Certificates: no certificate configured (serve --dev makes a self-signed one)");
        }

        var loggerFactory = Hosting.LoggingSetup.CreateFactory(options.Log, start.LogSink);
        var logger = loggerFactory.CreateLogger("Sealpost.Server");
        Unseal.Unsealer? unsealed = null;
        if (!start.Dev && Unseal.ShareSet.Load(folder.Path) is { } shareSet)
        {
            unsealed = await Unseal.SealedGate.WaitAsync(options, shareSet, loggerFactory, start.Announce, ct);
        }

        // A disaster-recovery node: unsealed already, it waits here while its database is a standby.
        await StandbyGate.WaitForPrimaryAsync(options, start.Dev ? "development" : "production",
            unsealed is null ? "unsealed" : $"unsealed by {unsealed.Describe()}", loggerFactory, start.Announce, ct);

        SealpostRuntime runtime;
        var masterKey = unsealed is null ? null : await unsealed.MasterKey;
        try
        {
            runtime = await SealpostRuntime.OpenAsync(options, loggerFactory, ct, masterKey);
            if (unsealed?.Provider is { } provider)
            {
                runtime.SealState = $"unsealed by {provider}; {unsealed.Set.Describe()} can unseal it too";
            }
        }
        finally
        {
            if (masterKey is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(masterKey);
            }
        }

        if (!runtime.Trust.IsPinned)
        {
            await runtime.DisposeAsync();
            throw Sealpost.Crypto.Vault.KeyTrust.NotPinned();
        }

        CertificateStore certificates;
        try
        {
            certificates = new CertificateStore(options.Tls.Certificates, TimeSpan.FromSeconds(options.Tls.ReloadCheckSeconds),
                loggerFactory.CreateLogger<CertificateStore>(), KeystoreCertificates.Resolver(runtime.Keystore),
                options.Tls.Acme.DirectoryUrl.Length > 0 ? options.Hostname : null);
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }

        try
        {
            ServerLog.Starting(logger, Version, start.Dev ? "development" : "production", runtime.StoreKind);
            ServerLog.TrustAnchor(logger, runtime.Trust.PinnedFingerprint, runtime.Trust.Current.Generation,
                runtime.Trust.EndorsesLocally ? "key versions are endorsed by this folder's local officer pair (test rig or --dev): not the two-person rule"
                : File.Exists(Path.Combine(runtime.Folder.Path, DataFolder.LocalOfficersName)) ? "the anchor is a local officer pair whose keys are in this data folder (made by a test rig's init): whoever holds the folder can endorse key versions; re-initialise with the officers' anchor"
                : "key versions need two people of the anchor or the previous version's signature");
            await runtime.Configuration.RecordStartAsync(Sealpost.Core.Access.Actor.System(), options, Version, start.Dev ? "development" : "production", ct);
            if (unsealed is not null)
            {
                await runtime.Configuration.RecordUnsealAsync(Sealpost.Core.Access.Actor.System("unseal"), unsealed.Describe(), ct);
            }

            if (start.Dev)
            {
                ServerLog.DevelopmentMode(logger);
            }

            var httpListeners = new List<ListenOptions>();
            var shutdown = new ShutdownSignal();
            var acme = options.Tls.Acme.DirectoryUrl.Length > 0
                ? new AcmeRenewal(options.Tls.Acme, options.Hostname, runtime, certificates, loggerFactory.CreateLogger<AcmeRenewal>())
                : null;
            var challengeListeners = new List<ListenOptions>();
            var smtpContext = SmtpContextFor(options, runtime, certificates, start.Dev, shutdown);
            var imapContext = ImapContextFor(options, runtime, certificates, start.Dev, shutdown);
            var app = Build(options, runtime, certificates, start.LogSink, start.Dev, httpListeners, shutdown, acme, challengeListeners, imapContext.Admission);
            await app.StartAsync(ct);
            // Ordering starts once the challenge listener answers.
            acme?.Start();
            foreach (var listen in challengeListeners)
            {
                ServerLog.Listening(logger, listen.IPEndPoint!.ToString(), "acme http-01");
            }

            var listeners = new List<(Enum Kind, ConnectionListener Listener)>();
            try
            {
                foreach (var (kind, name, pipeline, list) in MailPipelines(options, smtpContext, imapContext))
                {
                    foreach (var text in list)
                    {
                        OptionsValidator.TryParseEndpoint(text, out var endpoint);
                        var listener = ConnectionListener.Start(endpoint, pipeline, logger);
                        listeners.Add((kind, listener));
                        ServerLog.Listening(logger, listener.EndPoint.ToString(), name);
                    }
                }
            }
            catch
            {
                foreach (var (_, listener) in listeners)
                {
                    await listener.DisposeAsync();
                }

                await app.StopAsync(CancellationToken.None);
                await app.DisposeAsync();
                throw;
            }

            // Only the HTTPS listeners (Kestrel lists every endpoint, SMTP ones included); wildcard binds shown as loopback.
            var addresses = httpListeners
                .Select(l => l.IPEndPoint!)
                .Select(e => new Uri($"https://{(e.Address.Equals(IPAddress.Any) ? "127.0.0.1" : e.Address.Equals(IPAddress.IPv6Any) ? "[::1]" : e.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{e.Address}]" : e.Address.ToString())}:{e.Port}"))
                .ToList();
            foreach (var address in addresses)
            {
                ServerLog.Listening(logger, address.Authority, "https");
            }

            PosixSignalRegistration? sighup = null;
            if (!OperatingSystem.IsWindows())
            {
                sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
                {
                    context.Cancel = true; // SIGHUP reloads certificates (and checks the ACME one now); it does not stop the server
                    certificates.Reload();
                    acme?.CheckNow();
                });
            }

            // SIGTERM (or any stop): every listener closes at once and sessions end at their next resting
            // point; the mail listeners wait up to Limits:ShutdownSeconds for them.
            app.Lifetime.ApplicationStopping.Register(() =>
            {
                ServerLog.Draining(logger, options.Limits.ShutdownSeconds);
                shutdown.Begin();
                foreach (var (_, listener) in listeners)
                {
                    listener.StopAccepting();
                }
            });
            var server = new SealpostServer(app, runtime, certificates, addresses, listeners, sighup, shutdown)
            {
                SmtpContext = smtpContext,
                ImapContext = imapContext,
                Acme = acme,
                AcmeChallengeEndpoint = challengeListeners.FirstOrDefault()?.IPEndPoint,
            };
            if (!string.IsNullOrWhiteSpace(options.Vault.Peer.Listen))
            {
                try
                {
                    server._peer = await Unseal.PeerUnsealListener.StartAsync(options, runtime, ct);
                    ServerLog.Listening(logger, server._peer.EndPoint.ToString(), "peer unseal");
                }
                catch
                {
                    await server.DisposeAsync();
                    throw;
                }
            }

            return server;
        }
        catch
        {
            certificates.Dispose();
            await runtime.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Each mail listener's pipeline: SMTP inbound and submission (STARTTLS), submission over implicit TLS,
    /// IMAP (STARTTLS) and IMAPS, each with its protocol's gate, refusal and session.
    /// </summary>
    private static IEnumerable<(Enum Kind, string Name, ConnectionPipeline Pipeline, IReadOnlyList<string> Listen)> MailPipelines(
        SealpostOptions options, SmtpContext smtp, ImapContext imap)
    {
        foreach (var (kind, list) in new[]
                 {
                     (SmtpListenerKind.Inbound, options.Smtp.InboundListen),
                     (SmtpListenerKind.Submission, options.Smtp.SubmissionListen),
                     (SmtpListenerKind.SubmissionImplicitTls, options.Smtp.SubmissionTlsListen),
                 })
        {
            var protocol = kind == SmtpListenerKind.Inbound ? "smtp" : "submission";
            yield return (kind, "smtp " + kind.ToString().ToLowerInvariant(), new ConnectionPipeline(
                protocol,
                ImplicitTls: kind == SmtpListenerKind.SubmissionImplicitTls,
                options.Smtp.ProxyProtocol,
                smtp.Connections,
                smtp.TlsOptions,
                (client, reason) => SmtpSession.Refused(smtp, client, reason),
                SmtpSession.Refusal,
                (connection, ct) => new SmtpSession(smtp, kind, connection).RunAsync(ct)), list);
        }

        foreach (var (kind, list) in new[] { (ImapListenerKind.StartTls, options.Imap.Listen), (ImapListenerKind.ImplicitTls, options.Imap.TlsListen) })
        {
            yield return (kind, "imap " + kind.ToString().ToLowerInvariant(), new ConnectionPipeline(
                "imap",
                ImplicitTls: kind == ImapListenerKind.ImplicitTls,
                options.Imap.ProxyProtocol,
                imap.Connections,
                imap.TlsOptions,
                (client, reason) => ImapSession.Refused(imap, client, reason),
                ImapSession.Refusal,
                (connection, ct) => new ImapSession(imap, kind, connection).RunAsync(ct)), list);
        }
    }

    private static ImapContext ImapContextFor(SealpostOptions options, SealpostRuntime runtime, CertificateStore certificates, bool dev, ShutdownSignal shutdown) =>
        new(
            options,
            runtime.Mail,
            runtime.Authentication,
            serverName => TlsPolicy.ServerOptions(certificates, serverName, options.Tls),
            runtime.Redactor,
            runtime.LoggerFactory.CreateLogger("Sealpost.Imap"),
            dev,
            new Sealpost.Connections.ConnectionGate(options.Limits.MaxConnections, options.Limits.MaxConnectionsPerIp),
            runtime.MessageMemory)
        {
            AccessGrants = runtime.AccessGrants,
            Shutdown = shutdown,
            MessageProcessing = runtime.MessageProcessing,
        };

    private static SmtpContext SmtpContextFor(SealpostOptions options, SealpostRuntime runtime, CertificateStore certificates, bool dev, ShutdownSignal shutdown) =>
        new SmtpContext(
            options,
            runtime.Deliveries,
            serverName => TlsPolicy.ServerOptions(certificates, serverName, options.Tls),
            runtime.Redactor,
            runtime.LoggerFactory.CreateLogger("Sealpost.Smtp"),
            dev,
            runtime.Authentication,
            new Sealpost.Connections.ConnectionGate(options.Limits.MaxConnections, options.Limits.MaxConnectionsPerIp),
            options.Smtp.DnsServers.Count > 0 || options.Smtp.UseSystemDns
                ? new Sealpost.Smtp.Authentication.SenderAuthenticator(new Sealpost.Smtp.Authentication.SenderDns(
                    options.Smtp.DnsServers.Select(s => { OptionsValidator.TryParseEndpoint(s, out var e); return e; }).ToList()),
                    options.Smtp.PublicSuffixList.Length == 0 ? null : Sealpost.Smtp.Authentication.PublicSuffixList.Load(options.Smtp.PublicSuffixList))
                : null,
            runtime.MessageMemory,
            shutdown,
            runtime.MessageProcessing);

    private static WebApplication Build(SealpostOptions options, SealpostRuntime runtime, CertificateStore certificates, TextWriter? logSink, bool dev, List<ListenOptions> httpListeners, ShutdownSignal shutdown,
        AcmeRenewal? acme, List<ListenOptions> challengeListeners, Sealpost.Connections.LoginAdmission admission)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        LoggingSetup.Configure(builder.Logging, options.Log, logSink);
        builder.Services.AddSingleton(runtime);
        builder.Services.AddHostedService(sp => new OrphanSweeper(runtime, sp.GetRequiredService<ILogger<OrphanSweeper>>()));
        builder.Services.AddHostedService(sp => new GrantExpirer(runtime, sp.GetRequiredService<ILogger<GrantExpirer>>()));
        builder.Services.AddHostedService(sp => new Sealpost.Server.Audit.AuditHeadPublisher(runtime, sp.GetRequiredService<ILogger<Sealpost.Server.Audit.AuditHeadPublisher>>()));
        if (options.Delivery.Enabled)
        {
            builder.Services.AddHostedService(sp => new Sealpost.Server.Hosting.OutboundDeliveryHost(runtime));
        }

        if (runtime.TlsReports is not null)
        {
            builder.Services.AddHostedService(sp => new TlsReportHost(runtime, sp.GetRequiredService<ILogger<TlsReportHost>>()));
        }

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.Limits.ShutdownSeconds));
        Sealpost.Web.AdminApi.AddServices(builder.Services);
        Sealpost.Web.Console.ConsoleSetup.AddServices(builder.Services);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            foreach (var text in options.Http.Listen)
            {
                OptionsValidator.TryParseEndpoint(text, out var endpoint);
                kestrel.Listen(endpoint, listen =>
                {
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        HandshakeTimeout = TimeSpan.FromSeconds(10),
                        OnConnection = context => ValueTask.FromResult(TlsPolicy.ServerOptions(
                            certificates, context.ClientHelloInfo.ServerName, options.Tls,
                            [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11])),
                    });
                    listen.Use(next => ReleaseIdleTlsBuffers(next, "https"));
                    httpListeners.Add(listen);
                });
            }
        });

        if (acme is not null)
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                OptionsValidator.TryParseEndpoint(options.Tls.Acme.ChallengeListen, out var endpoint);
                kestrel.Listen(endpoint, listen => challengeListeners.Add(listen));
            });
        }

        var app = builder.Build();
        if (acme is not null)
        {
            // The plain-HTTP listener answers http-01 challenges (RFC 8555 §8.3) and nothing else.
            app.Use(async (context, next) =>
            {
                if (context.Request.IsHttps)
                {
                    await next(context);
                    return;
                }

                const string prefix = "/.well-known/acme-challenge/";
                var path = context.Request.Path.Value ?? "";
                var answer = context.Request.Method == "GET" && path.StartsWith(prefix, StringComparison.Ordinal)
                    ? await acme.KeyAuthorizationAsync(path[prefix.Length..], context.RequestAborted) : null;
                if (answer is null)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                context.Response.ContentType = "application/octet-stream";
                await context.Response.WriteAsync(answer);
            });
        }

        app.MapGet("/", () => Results.Text("Sealpost\n"));
        app.MapGet("/health", (ILoggerFactory loggers, CancellationToken ct) => HealthAsync(runtime, certificates, loggers, ct));
        // For load balancers and orchestrators: live while the process answers; ready only when it serves (not sealed, store reachable).
        app.MapGet("/health/live", () => Results.Json(new { status = "live" }));
        app.MapGet("/health/ready", (ILoggerFactory loggers, CancellationToken ct) => HealthAsync(runtime, certificates, loggers, ct));
        // Metrics: this server's listener over the process's meter, and the gauges only a server can observe.
        var exporter = new Sealpost.Web.PrometheusExporter(Sealpost.Core.Observability.SealpostMetrics.MeterName);
        var gauges = new System.Diagnostics.Metrics.Meter(Sealpost.Core.Observability.SealpostMetrics.MeterName);
        gauges.CreateObservableGauge("sealpost.certificate.expiry", () => (certificates.SelectCertificate(null).NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalSeconds,
            unit: "s", description: "Seconds until the default TLS certificate expires");
        gauges.CreateObservableGauge("sealpost.sealed", () => runtime.SealState.StartsWith("sealed", StringComparison.Ordinal) ? 1 : 0, description: "1 while the keystore is sealed");
        var kdf = runtime.Vault.Kdf;
        gauges.CreateObservableGauge("sealpost.argon2.running", () => kdf.Running, description: "Argon2id computations running now (at most PasswordHashing:MaxConcurrent)");
        gauges.CreateObservableGauge("sealpost.argon2.waiting", () => kdf.Waiting, description: "Argon2id computations waiting for a slot (a login storm)");
        gauges.CreateObservableGauge("sealpost.argon2.peak", () => kdf.PeakConcurrent, description: "The most Argon2id computations that ever ran at once");
        gauges.CreateObservableGauge("sealpost.imap.commands_running", () => admission.Running, description: "Commands of logged-in IMAP sessions (and admitted logins) running now");
        gauges.CreateObservableGauge("sealpost.imap.login_queue_waiting", () => admission.Waiting, description: "IMAP logins waiting behind logged-in sessions' commands (Imap:LoginQueueBusyCommands)");
        var memory = runtime.MessageMemory;
        gauges.CreateObservableGauge("sealpost.message_memory.used_bytes", () => memory.Used, description: "Message data held by SMTP and IMAP sessions, in memory or waiting on disk");
        gauges.CreateObservableGauge("sealpost.message_memory.capacity_bytes", () => memory.Capacity, description: "Limits:MaxMessageMemoryBytes");
        var processing = runtime.MessageProcessing;
        gauges.CreateObservableGauge("sealpost.message_processing.used_bytes", () => processing.Used, description: "Memory set aside for checking and sealing whole messages now (within Limits:MaxMessageMemoryBytes)");
        gauges.CreateObservableGauge("sealpost.message_processing.waiting", () => processing.Waiting, description: "Messages waiting for room to be checked and sealed");
        // OTLP push (optional): the same instruments through the OpenTelemetry SDK to the operators' collector.
        var otlp = options.Metrics.OtlpEndpoint.Length == 0 ? null : OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .AddMeter(Sealpost.Core.Observability.SealpostMetrics.MeterName)
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(options.Metrics.OtlpEndpoint);
                exporter.Protocol = OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.Metrics.OtlpIntervalSeconds * 1000;
            })
            .Build();
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            otlp?.Dispose(); // a last push, then stop
            exporter.Dispose();
            gauges.Dispose();
        });
        var api = new Sealpost.Web.ApiContext(
            runtime.Directory, runtime.AdminAccess, runtime.AuditService, runtime.Queue, runtime.Dkim, runtime.KeyCustody, runtime.AccessGrants, runtime.Configuration, Version,
            async ct =>
            {
                var loggers = app.Services.GetRequiredService<ILoggerFactory>();
                var report = await HealthReportAsync(runtime, certificates, loggers, ct);
                return (report.Status == "ok" ? 200 : 503, report);
            },
            options.Http.MaxRequestBodyBytes, options.Http.MaxPageSize, options.Limits.DefaultQuotaBytes, options.Hostname, options, certificates.SelectCertificate, exporter.Render, runtime.Backups);
        Sealpost.Web.AdminApi.Map(app, api, runtime.LoggerFactory.CreateLogger("Sealpost.Web"));
        Sealpost.Web.Console.ConsoleSetup.Map(app, api);
        return app;
    }

    // After Kestrel's TLS handshake: let OpenSSL free the connection's record buffers while it is idle, and count the handshake.
    private static ConnectionDelegate ReleaseIdleTlsBuffers(ConnectionDelegate next, string protocol) => connection =>
    {
        if (connection.Features.Get<ISslStreamFeature>()?.SslStream is { } ssl)
        {
            TlsIdleBuffers.Enable(ssl);
            Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake(protocol, ssl);
        }

        return next(connection);
    };

    /// <summary>Liveness and readiness: "ok", "degraded" (with the cause: store unreachable, disk full) or, before the officers unseal, "sealed". Never reveals data, only state.</summary>
    private static async Task<IResult> HealthAsync(SealpostRuntime runtime, CertificateStore certificates, ILoggerFactory loggers, CancellationToken ct)
    {
        var report = await HealthReportAsync(runtime, certificates, loggers, ct);
        return Results.Json(report, statusCode: report.Status == "ok" ? 200 : 503);
    }

    private static async Task<HealthReport> HealthReportAsync(SealpostRuntime runtime, CertificateStore certificates, ILoggerFactory loggers, CancellationToken ct)
    {
        // The certificate served when a client names no host: what expires first for most clients.
        var expires = new DateTimeOffset(certificates.SelectCertificate(null).NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var mode = runtime.Folder.IsDev ? "development" : "production";
        string cause;
        var schema = 0;
        try
        {
            schema = await runtime.Store.GetSchemaVersionAsync(ct);
            cause = DiskShortage(runtime) ?? "";
        }
        catch (SealpostException ex)
        {
            cause = Sealpost.Core.Logging.FailureCause.Describe(ex);
        }

        if (cause.Length > 0)
        {
            ServerLog.HealthFailed(loggers.CreateLogger("Sealpost.Health"), cause);
            return new HealthReport("degraded", Version, runtime.Store.Kind, schema, mode, runtime.SealState, runtime.Audit.Node, expires) { Clock = ClockState.Read().State, Cause = cause };
        }

        return new HealthReport("ok", Version, runtime.Store.Kind, schema, mode, runtime.SealState, runtime.Audit.Node, expires) { Clock = ClockState.Read().State };
    }

    /// <summary>"disk full: …" when the data folder's file system has less free space than Limits:MinFreeDiskMegabytes.</summary>
    private static string? DiskShortage(SealpostRuntime runtime)
    {
        var minimum = runtime.Options.Limits.MinFreeDiskMegabytes;
        if (minimum == 0)
        {
            return null;
        }

        var free = new DriveInfo(runtime.Folder.Path).AvailableFreeSpace / (1024 * 1024);
        return free < minimum ? $"disk full: {free} MiB free for the data folder (Limits:MinFreeDiskMegabytes {minimum})" : null;
    }

    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        _sighup?.Dispose();
        if (Acme is not null)
        {
            await Acme.DisposeAsync();
        }

        if (_peer is not null)
        {
            await _peer.DisposeAsync();
        }

        // A stop not begun by a signal (a test, an embedding host) drains the same way.
        _shutdown.Begin();
        var grace = TimeSpan.FromSeconds(Runtime.Options.Limits.ShutdownSeconds);
        var stopping = _app.StopAsync();
        await Task.WhenAll(_listeners.Select(l => l.Listener.StopAsync(grace).AsTask()));

        try
        {
            await stopping;
            await Runtime.Configuration.RecordStopAsync(Sealpost.Core.Access.Actor.System());
        }
        catch (SealpostException)
        {
            // The audit trail could not take the record; the stop goes on (its absence is visible in the trail).
        }
        finally
        {
            await _app.DisposeAsync();
            _shutdown.Dispose();
            Certificates.Dispose();
            await Runtime.DisposeAsync();
        }
    }
}

/// <summary>What /health and /api/v1/health report: state only, never data. Node is this process's name in the audit trail.</summary>
public sealed record HealthReport(string Status, string Version, string Store, int SchemaVersion, string Mode, string Keystore, string Node = "", DateTimeOffset? CertificateExpires = null)
{
    /// <summary>The kernel's view of the system clock: synchronised, unsynchronised or unknown (TOTP, DKIM, the audit trail and certificates depend on it).</summary>
    public string Clock { get; init; } = "unknown";

    /// <summary>Why the node is not ready, in a few words ("disk full: …", "store unreachable"); empty when it is.</summary>
    public string Cause { get; init; } = "";
}

/// <summary>Removes unreferenced blobs and orphaned blob files, and prunes the change log past its retention, on a schedule.</summary>
internal sealed class OrphanSweeper(SealpostRuntime runtime, ILogger<OrphanSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMinutes(runtime.Options.Store.SweepIntervalMinutes);
        var grace = TimeSpan.FromMinutes(runtime.Options.Store.OrphanGraceMinutes);
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var result = await runtime.Store.Mail.SweepOrphansAsync(grace, stoppingToken);
                Core.Logging.CoreLog.OrphansSwept(logger, result.BlobRowsRemoved, result.FilesRemoved);
                var pruned = await runtime.Store.Mail.PruneChangesAsync(DateTimeOffset.UtcNow.AddDays(-runtime.Options.Store.ChangeLogRetentionDays), stoppingToken);
                Core.Logging.CoreLog.ChangesPruned(logger, pruned);
                await runtime.LoginThrottle.PruneAsync(stoppingToken);
                if (runtime.Options.Limits.DeletedAccountRetentionDays > 0)
                {
                    // Deleted accounts past their retention are crypto-shredded (audited as the server).
                    await runtime.Directory.ShredExpiredAsync(Sealpost.Core.Access.Actor.System("sweep"),
                        TimeSpan.FromDays(runtime.Options.Limits.DeletedAccountRetentionDays), DateTimeOffset.UtcNow, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Core.Logging.CoreLog.SweepFailed(logger, ex);
            }
        }
    }
}

/// <summary>Ends access grants whose time is up and deletes their keys, on every node (two nodes doing it at once is harmless).</summary>
internal sealed class GrantExpirer(SealpostRuntime runtime, ILogger<GrantExpirer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, runtime.Options.Vault.GrantExpirySweepSeconds)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await runtime.AccessGrants.ExpireDueAsync(Sealpost.Core.Access.Actor.System("grant-expiry"), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Core.Logging.CoreLog.SweepFailed(logger, ex);
            }
        }
    }
}
