using System.Runtime.InteropServices;

namespace Sealpost.Server.Hosting;

/// <summary>
/// Cheap defences for production: no core dumps (they would hold mail and keys from memory) and a
/// non-dumpable process (no ptrace attach by other users, /proc/PID/mem closed). Root on the node
/// can still read memory; docs/security.md says so. .NET's own diagnostics are switched off by the
/// service unit (DOTNET_EnableDiagnostics=0), which must be set before the runtime starts.
/// </summary>
internal static partial class ProcessHardening
{
    private const int PrSetDumpable = 4;
    private const int RlimitCore = 4;

    public static void Apply()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var zero = new RLimit();
        _ = SetRLimit(RlimitCore, ref zero);
        _ = Prctl(PrSetDumpable, 0, 0, 0, 0);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, ref RLimit limit);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
}
