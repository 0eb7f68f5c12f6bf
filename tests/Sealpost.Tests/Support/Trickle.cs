namespace Sealpost.Tests.Support;

/// <summary>A client that sends one byte a second, each well inside any per-read timeout: for deadlines that bound a whole phase.</summary>
public static class Trickle
{
    /// <summary>True once the server hangs up; false if it has not after 40 bytes.</summary>
    public static async Task<bool> UntilClosedAsync(Stream stream, byte value)
    {
        var buffer = new byte[4096];
        var read = stream.ReadAsync(buffer).AsTask();
        for (var i = 0; i < 40; i++)
        {
            try
            {
                await stream.WriteAsync(new[] { value });
            }
            catch (IOException)
            {
                return true;
            }

            if (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(1))) == read)
            {
                if (await read == 0)
                {
                    return true;
                }

                read = stream.ReadAsync(buffer).AsTask(); // a greeting or a last word; the close follows
            }
        }

        return false;
    }
}
