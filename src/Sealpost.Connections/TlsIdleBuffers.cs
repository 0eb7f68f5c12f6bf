using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Sealpost.Connections;

/// <summary>
/// Lets OpenSSL free a TLS connection's record buffers while the connection is idle
/// (SSL_MODE_RELEASE_BUFFERS, which nginx sets on every connection). Without it OpenSSL keeps the read
/// and write buffers it allocated for the handshake, about 17 KB each, for the connection's whole
/// life: two thirds of what an idle IMAP session costs. .NET (10) does not set the mode and offers
/// no switch for it, so this takes the connection's SSL handle from SslStream's private field and
/// calls SSL_ctrl in the very libssl the runtime loaded. Anything unexpected (another OS, another
/// runtime layout, no libssl) turns it off once and the connection keeps OpenSSL's default; nothing
/// else changes. TlsIdleBuffersTests fails if a runtime update moves the field.
/// </summary>
public static class TlsIdleBuffers
{
    private const int SslCtrlMode = 33;          // SSL_CTRL_MODE (openssl/ssl.h)
    private const long ReleaseBuffersMode = 0x10; // SSL_MODE_RELEASE_BUFFERS

    private delegate long SslCtrl(IntPtr ssl, int command, long larg, IntPtr parg);

    private static readonly Lazy<Access?> Resolved = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Why the switch is unavailable here, or null when it works (or was not tried yet).</summary>
    public static string? Unavailable { get; private set; }

    /// <summary>
    /// Asks OpenSSL to release the connection's buffers whenever they are empty; the next read or write
    /// frees those the handshake left. Call after the handshake. True when the mode is set.
    /// </summary>
    public static bool Enable(SslStream stream) => Ctrl(stream, ReleaseBuffersMode) is long mode && (mode & ReleaseBuffersMode) != 0;

    /// <summary>The connection's SSL mode bits (for tests), or null when unavailable.</summary>
    public static long? Mode(SslStream stream) => Ctrl(stream, 0);

    private static long? Ctrl(SslStream stream, long addMode)
    {
        var access = Resolved.Value;
        if (access is null || Handle(access, stream) is not { IsInvalid: false, IsClosed: false } handle)
        {
            return null;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // SSL_set_mode is a macro for SSL_ctrl(ssl, SSL_CTRL_MODE, bits, NULL): ORs the bits in, returns the new mode.
            return access.Ctrl(handle.DangerousGetHandle(), SslCtrlMode, addMode, IntPtr.Zero);
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    // .NET 10 keeps the SSL* handle (SafeSslHandle) in SslStream._securityContext, declared as its base type.
    private static SafeHandle? Handle(Access access, SslStream stream) =>
        access.ContextField.GetValue(stream) is SafeHandle handle && handle.GetType().Name == "SafeSslHandle" ? handle : null;

    private static Access? Resolve()
    {
        if (!OperatingSystem.IsLinux())
        {
            Unavailable = "not Linux";
            return null;
        }

        var contextField = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
        if (contextField is null || !typeof(SafeHandle).IsAssignableFrom(contextField.FieldType))
        {
            Unavailable = "this runtime's SslStream keeps no SSL handle in _securityContext";
            return null;
        }

        // The libssl the runtime's crypto shim loaded: another copy's SSL_ctrl on this SSL* would be fatal.
        var path = LoadedLibssl();
        if (path is null || !NativeLibrary.TryLoad(path, out var library) || !NativeLibrary.TryGetExport(library, "SSL_ctrl", out var ctrl))
        {
            Unavailable = "no single libssl loaded in this process";
            return null;
        }

        return new Access(contextField, Marshal.GetDelegateForFunctionPointer<SslCtrl>(ctrl));
    }

    private static string? LoadedLibssl()
    {
        try
        {
            var paths = File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..] : null)
                .Where(p => p is not null && Path.GetFileName(p).StartsWith("libssl.so", StringComparison.Ordinal))
                .Distinct()
                .ToList();
            return paths.Count == 1 ? paths[0] : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private sealed record Access(FieldInfo ContextField, SslCtrl Ctrl);
}
