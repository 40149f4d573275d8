namespace Conversations.Grains;

/// <summary>Enters a <see cref="SemaphoreSlim"/> and releases it when disposed.</summary>
internal readonly struct Gate : IDisposable
{
    private readonly SemaphoreSlim _semaphore;

    private Gate(SemaphoreSlim semaphore) => _semaphore = semaphore;

    public static async ValueTask<Gate> Enter(SemaphoreSlim semaphore, CancellationToken cancellationToken)
    {
        await semaphore.WaitAsync(cancellationToken);
        return new Gate(semaphore);
    }

    public void Dispose() => _semaphore.Release();
}
