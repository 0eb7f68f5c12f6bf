namespace Sealpost.Tests.Support;

/// <summary>Waiting on a condition, never on a guessed delay: polls until it holds or the time is up.</summary>
public static class Waiting
{
    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} (waited {seconds} s)");
            }

            await Task.Delay(20);
        }
    }
}
