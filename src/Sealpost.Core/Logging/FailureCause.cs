using System.Net.Sockets;

namespace Sealpost.Core.Logging;

/// <summary>
/// What an operator needs to know about a failure of the server's own, in a few words for a log line
/// or the health report: "disk full", "store unreachable", "store busy", or the innermost exception's
/// type. Never the exception's message text, which may quote data.
/// </summary>
public static class FailureCause
{
    private const int Enospc = 28;

    public static string Describe(Exception ex)
    {
        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case IOException io when (io.HResult & 0xFFFF) == Enospc:
                    return "disk full";
                case SocketException:
                case TimeoutException:
                    return "store unreachable";
            }

            // The stores' own exceptions, by their codes (Core references neither driver).
            switch (e.GetType().Name)
            {
                case "SqliteException" when ErrorCode(e, "SqliteErrorCode") == 13: // SQLITE_FULL
                    return "disk full";
                case "SqliteException" when ErrorCode(e, "SqliteErrorCode") is 5 or 6: // SQLITE_BUSY, SQLITE_LOCKED
                    return "store busy";
                case "PostgresException" when SqlState(e) is "53100": // disk_full
                    return "disk full";
                case "PostgresException" when SqlState(e) is { } state && state.StartsWith("08", StringComparison.Ordinal): // connection exceptions
                    return "store unreachable";
                case "NpgsqlException" when e.InnerException is SocketException or IOException or TimeoutException:
                    return "store unreachable";
            }
        }

        var innermost = ex;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return innermost.GetType().Name;
    }

    private static int? ErrorCode(Exception e, string property) => e.GetType().GetProperty(property)?.GetValue(e) as int?;

    private static string? SqlState(Exception e) => (e as System.Data.Common.DbException)?.SqlState;
}
