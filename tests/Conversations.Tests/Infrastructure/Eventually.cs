namespace Conversations.Tests.Infrastructure;

/// <summary>
/// Waits for background work the service does off the request path (a rolling summary) by polling
/// an observable condition until it holds or a generous deadline passes. The deadline is a hang
/// guard, not a speed assertion: the condition, not the clock, ends the wait.
/// </summary>
public static class Eventually
{
    public static async Task<T> Get<T>(Func<Task<T?>> probe, TimeSpan? deadline = null) where T : class =>
        (await Value(async () => await probe() is { } found ? new Box<T>(found) : (Box<T>?)null, deadline)).Item;

    public static async Task<T> Get<T>(Func<Task<T?>> probe, TimeSpan? deadline = null) where T : struct =>
        (await Value(async () => await probe() is { } found ? new Box<T>(found) : (Box<T>?)null, deadline)).Item;

    private static async Task<Box<T>> Value<T>(Func<Task<Box<T>?>> probe, TimeSpan? deadline)
    {
        var until = DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("The condition did not hold before the deadline.");
            }

            await Task.Delay(50);
        }
    }

    private sealed record Box<T>(T Item);
}
