using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Hosting;

public static class LoggingSetup
{
    public static void Configure(ILoggingBuilder builder, LoggingOptions options, TextWriter? sink = null)
    {
        builder.ClearProviders();
        builder.SetMinimumLevel(Enum.Parse<LogLevel>(options.Level));
        // Framework chatter stays at Warning: request lines carry paths and headers we do not vet.
        builder.AddFilter("Microsoft", LogLevel.Warning);
        builder.AddFilter("System", LogLevel.Warning);
        if (sink is not null)
        {
            builder.AddProvider(new TextWriterLoggerProvider(sink));
            return;
        }

        if (options.Format == "json")
        {
            builder.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }

        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    public static ILoggerFactory CreateFactory(LoggingOptions options, TextWriter? sink = null) =>
        LoggerFactory.Create(b => Configure(b, options, sink));
}

/// <summary>Writes log lines to a TextWriter: used by the CLI (stderr) and by tests that inspect logs.</summary>
public sealed class TextWriterLoggerProvider(TextWriter writer) : ILoggerProvider
{
    private readonly Lock _lock = new();

    public ILogger CreateLogger(string categoryName) => new WriterLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class WriterLogger(TextWriterLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {logLevel} {category}[{eventId.Id}] {formatter(state, exception)}";
            lock (owner._lock)
            {
                owner.Writer.WriteLine(exception is null ? line : line + " (" + exception.GetType().Name + ")");
                owner.Writer.Flush();
            }
        }
    }

    private TextWriter Writer => writer;
}
