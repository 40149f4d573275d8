using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Hosting;

/// <summary>
/// Once the process listens, sends <see cref="WarmupOptions.Requests"/> chat calls through its own HTTP pipeline
/// (Kestrel, authentication with a key no tenant holds, its grain lookup, the OpenAI error answer), and keeps
/// <c>/health</c> not ready until they are done, so that the JIT's first tiers of that path are paid before a balancer
/// sends traffic. The calls are refused by authentication: nothing is metered, stored or audited.
/// </summary>
public sealed partial class WarmupBeforeReady(IServer server, IHostApplicationLifetime lifetime, IOptions<WarmupOptions> options, ILogger<WarmupBeforeReady> logger)
    : BackgroundService
{
    private const string Body = """{"model":"warm-up","max_tokens":16,"messages":[{"role":"user","content":"warm-up"}]}""";

    private volatile bool _done;

    /// <summary>The requests sent so far (tests and logs read it).</summary>
    public int Sent { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var requests = options.Value.Requests;
        if (requests <= 0)
        {
            _done = true;
            return;
        }

        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(started.SetResult))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        var clock = Stopwatch.StartNew();
        try
        {
            using var http = new HttpClient { BaseAddress = OwnAddress(), Timeout = TimeSpan.FromSeconds(10) };
            for (; Sent < requests && !stoppingToken.IsCancellationRequested; Sent++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body, MediaTypeHeaderValue.Parse("application/json")) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-warm-up-held-by-no-tenant");
                using var response = await http.SendAsync(request, stoppingToken);
                await response.Content.ReadAsByteArrayAsync(stoppingToken);
            }

            LogWarmedUp(Sent, clock.ElapsedMilliseconds);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            LogWarmupFailed(exception, Sent); // a warm-up that cannot run must not keep the process out of service
        }
        finally
        {
            _done = true;
        }
    }

    /// <summary>The first address Kestrel listens on, with a wildcard host made loopback.</summary>
    private Uri OwnAddress()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? throw new HttpRequestException("The server listens nowhere.");
        var uri = new Uri(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        return uri.Host is "0.0.0.0" or "[::]" ? new UriBuilder(uri) { Host = "127.0.0.1" }.Uri : uri;
    }

    /// <summary>Not ready until the warm-up has run (or was turned off, or could not run).</summary>
    public sealed class HealthCheck(WarmupBeforeReady warmup) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(warmup._done ? HealthCheckResult.Healthy($"Warmed up with {warmup.Sent} requests.") : HealthCheckResult.Unhealthy("Warming up."));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up with {Requests} requests through the HTTP pipeline in {Milliseconds} ms")]
    private partial void LogWarmedUp(int requests, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warm-up stopped after {Requests} requests; reporting ready without it")]
    private partial void LogWarmupFailed(Exception exception, int requests);
}
