namespace Conversations.Tests.Infrastructure;

/// <summary>
/// Waits for an external process to become ready by polling its readiness signal, with a bound. This
/// is start-up readiness of a real process, not synchronization between test steps.
/// </summary>
public static class Readiness
{
    public static async Task WaitUntil(Func<Task<bool>> ready, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        while (!cancellation.IsCancellationRequested)
        {
            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or System.Net.Sockets.SocketException or TaskCanceledException)
            {
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new TimeoutException($"{what} was not ready within {timeout}. {diagnostics?.Invoke()}");
    }
}
