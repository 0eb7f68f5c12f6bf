using System.Net.Security;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Server.Tls;

namespace Sealpost.Server.Hosting;

/// <summary>One listener a gate bound, and where its port goes back into the options.</summary>
internal sealed record GateListener(List<string> List, int Index, ListenOptions Listen, string Label);

/// <summary>
/// The listeners of a node that cannot serve yet (sealed, or its database a standby): HTTPS for health
/// (and what the gate adds), only where every certificate is a plain file, since the others are in the
/// keystore; and the STARTTLS ports, which greet with SMTP <c>421</c> or IMAP <c>BYE [UNAVAILABLE]</c> and
/// close, so clients retry later. Implicit-TLS ports stay unbound. When the gate closes, the real
/// listeners bind the same ports (also where 0 was configured).
/// </summary>
internal sealed class GateListeners : IDisposable
{
    private readonly List<GateListener> _bound = [];

    private GateListeners(WebApplicationBuilder builder, CertificateStore? certificates)
    {
        Builder = builder;
        Certificates = certificates;
    }

    public WebApplicationBuilder Builder { get; }

    public CertificateStore? Certificates { get; }

    /// <param name="state">How the labels name this state ("sealed", "standby").</param>
    /// <param name="why">The end of the greetings: "is sealed until its security officers unseal it".</param>
    /// <param name="extra">Further listeners of the gate (the unseal socket).</param>
    public static GateListeners Create(SealpostOptions options, ILoggerFactory loggers, string state, string why, string httpsLabel, Action<KestrelServerOptions>? extra = null)
    {
        CertificateStore? certificates = null;
        if (options.Tls.Certificates.Count > 0 && options.Tls.Certificates.All(c => c.Keystore is null))
        {
            certificates = new CertificateStore(options.Tls.Certificates, TimeSpan.FromDays(1), loggers.CreateLogger<CertificateStore>());
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var gate = new GateListeners(builder, certificates);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 4096;
            extra?.Invoke(kestrel);
            if (certificates is not null)
            {
                for (var i = 0; i < options.Http.Listen.Count; i++)
                {
                    OptionsValidator.TryParseEndpoint(options.Http.Listen[i], out var endpoint);
                    var index = i;
                    kestrel.Listen(endpoint, listen =>
                    {
                        listen.UseHttps(new TlsHandshakeCallbackOptions
                        {
                            HandshakeTimeout = TimeSpan.FromSeconds(10),
                            OnConnection = context => ValueTask.FromResult(TlsPolicy.ServerOptions(certificates, context.ClientHelloInfo.ServerName, options.Tls,
                                [SslApplicationProtocol.Http11])),
                        });
                        gate._bound.Add(new GateListener(options.Http.Listen, index, listen, $"https ({state}: {httpsLabel})"));
                    });
                }
            }

            var greeting = $"421 4.3.0 {options.Hostname} {why}; try again later\r\n";
            foreach (var (list, label, text) in new[]
                     {
                         (options.Smtp.InboundListen, $"smtp inbound ({state}: 421)", greeting),
                         (options.Smtp.SubmissionListen, $"smtp submission ({state}: 421)", greeting),
                         (options.Imap.Listen, $"imap starttls ({state}: BYE)", $"* BYE [UNAVAILABLE] Sealpost {why}; try again later\r\n"),
                     })
            {
                var bytes = Encoding.ASCII.GetBytes(text);
                for (var i = 0; i < list.Count; i++)
                {
                    OptionsValidator.TryParseEndpoint(list[i], out var endpoint);
                    var index = i;
                    kestrel.Listen(endpoint, listen =>
                    {
                        listen.Run(async connection =>
                        {
                            await connection.Transport.Output.WriteAsync(bytes, connection.ConnectionClosed);
                            await connection.Transport.Output.CompleteAsync();
                        });
                        gate._bound.Add(new GateListener(list, index, listen, label));
                    });
                }
            }
        });
        return gate;
    }

    /// <summary>Once started: writes the ports bound back into the options and announces each listener.</summary>
    public void Announce(Action<string>? announce)
    {
        foreach (var (list, index, listen, label) in _bound)
        {
            var endpoint = listen.IPEndPoint!;
            list[index] = endpoint.ToString();
            announce?.Invoke($"  {label,-34} {endpoint}");
        }
    }

    public void Dispose() => Certificates?.Dispose();
}
