using System.Diagnostics;
using MimeKit;

namespace Sealpost.Tests.Support;

/// <summary>
/// A scripted SMTP receiver on 127.0.0.1 (Fixtures/smtp/receiver.py on Debian's python3-aiosmtpd):
/// recipients named temp-once*, temp* and reject* get 451-then-250, 451 and 550; every accepted
/// message is kept with its envelope. Stopped on dispose.
/// </summary>
public sealed class SmtpReceiver : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process _process;
    private readonly TempFolder _folder;

    private SmtpReceiver(Process process, TempFolder folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    /// <param name="login">"user:password": AUTH is offered after STARTTLS and required for mail.</param>
    public static async Task<SmtpReceiver> StartAsync(string? certificateFile = null, string? keyFile = null, string host = "127.0.0.1", string? login = null)
    {
        if (!File.Exists(Python) || (await Tools.RunAsync(Python, ["-c", "import aiosmtpd"])).Exit != 0)
        {
            throw new InvalidOperationException("python3-aiosmtpd is not installed; run scripts/deps.sh (it installs everything the tests need)");
        }

        var folder = new TempFolder("sealpost-receiver");
        var info = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Fixtures", "smtp", "receiver.py"));
        info.ArgumentList.Add(folder.Path);
        info.ArgumentList.Add("0");
        info.ArgumentList.Add(certificateFile ?? "");
        info.ArgumentList.Add(keyFile ?? "");
        info.ArgumentList.Add(host);
        info.ArgumentList.Add(login ?? "");

        var process = Process.Start(info)!;
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await process.StandardOutput.ReadLineAsync(ready.Token);
        if (line is null || !line.StartsWith("port ", StringComparison.Ordinal))
        {
            process.Kill(true);
            throw new InvalidOperationException("the SMTP receiver did not start: " + await process.StandardError.ReadToEndAsync());
        }

        return new SmtpReceiver(process, folder, int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The messages received so far, in order, with the receiver's X-Envelope-* headers.</summary>
    public IReadOnlyList<MimeMessage> Messages =>
        Directory.GetFiles(_folder.Path, "*.eml")
            .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture))
            .Select(f => MimeMessage.Load(f))
            .ToList();

    /// <summary>Waits until <paramref name="count"/> messages have arrived (fails after <paramref name="timeout"/>).</summary>
    public async Task<IReadOnlyList<MimeMessage>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (Directory.GetFiles(_folder.Path, "*.eml").Length < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the receiver did not get {count} message(s) in time");
            await Task.Delay(50);
        }

        return Messages;
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(5000))
            {
                _process.Kill(true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        _folder.Dispose();
    }
}

/// <summary>A clock the test moves: retry schedules, delay warnings and expiry without waiting.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
