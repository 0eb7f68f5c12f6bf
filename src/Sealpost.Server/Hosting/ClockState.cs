using System.Runtime.InteropServices;

namespace Sealpost.Server.Hosting;

/// <summary>
/// Whether the kernel says the system clock is synchronised (adjtimex(2) with no changes: a read).
/// TOTP steps, DKIM timestamps, the audit trail's times and certificate checks all depend on it; an
/// unsynchronised clock is reported by health, not acted on. "unknown" where the call is not available.
/// </summary>
public static partial class ClockState
{
    // struct timex (Linux, 64-bit): modes at 0, maxerror (µs) at 24, esterror at 32, status at 40.
    private const int TimexSize = 256;
    private const int MaxErrorOffset = 24;
    private const int StatusOffset = 40;
    private const int TimeError = 5; // TIME_ERROR: the clock is not synchronised
    private const int StaUnsync = 0x0040;

    [LibraryImport("libc", EntryPoint = "adjtimex", SetLastError = true)]
    private static partial int AdjTimex(IntPtr buffer);

    public static (string State, long MaxErrorMicroseconds) Read()
    {
        if (!OperatingSystem.IsLinux() || IntPtr.Size != 8)
        {
            return ("unknown", -1);
        }

        var buffer = Marshal.AllocHGlobal(TimexSize);
        try
        {
            Marshal.Copy(new byte[TimexSize], 0, buffer, TimexSize); // modes = 0: read only

            var result = AdjTimex(buffer);
            if (result < 0)
            {
                return ("unknown", -1);
            }

            var status = Marshal.ReadInt32(buffer, StatusOffset);
            var maxError = Marshal.ReadInt64(buffer, MaxErrorOffset);
            return (result == TimeError || (status & StaUnsync) != 0 ? "unsynchronised" : "synchronised", maxError);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return ("unknown", -1);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }
}
