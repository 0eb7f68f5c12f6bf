using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// Data residency: in a network namespace with only loopback (`unshare --net`), a dev server with
/// its DNS, a receiver and a submitted message for another organisation: the message arrives, and
/// strace shows the server connected to nothing but loopback and local sockets.
/// </summary>
public sealed class OfflineDeliveryTests
{
    [Fact]
    public async Task Delivery_works_with_only_loopback_and_reaches_for_nothing_else()
    {
        Tools.Require("unshare");
        Tools.Require("ip");
        Tools.Require("strace");
        using var work = new TempFolder("sealpost-offline");
        var (exit, output) = await Tools.RunAsync("unshare", ["--net", "bash",
            Path.Combine(AppContext.BaseDirectory, "Fixtures", "delivery", "offline.sh"),
            Path.Combine(AppContext.BaseDirectory, "sealpost.dll"), work.Path,
            Path.Combine(AppContext.BaseDirectory, "Fixtures", "smtp", "receiver.py")], timeout: TimeSpan.FromSeconds(150));
        Assert.True(exit == 0, output);
        Assert.Contains("delivered", output);
        Assert.Matches(@"connections: [1-9]", output); // strace saw the server's connections (DNS, the receiver)
        Assert.Contains("outside: 0", output);
    }
}
