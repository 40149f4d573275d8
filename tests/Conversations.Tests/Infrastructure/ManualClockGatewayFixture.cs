using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A running service whose <see cref="TimeProvider"/> (the API's and the grains') moves only when a test
/// moves it, so expiry and grace periods are tested without waiting. Timers still run in real time; only
/// the wall clock the service reads is the test's.
/// </summary>
public sealed class ManualClockGatewayFixture : IAsyncLifetime
{
    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public GatewayFactory Gateway { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Gateway = new GatewayFactory(services: services => services.AddSingleton<TimeProvider>(Clock));
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Gateway.DisposeAsync();
}
