using Conversations.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Defaults every Conversations process applies: OpenTelemetry for ASP.NET Core, HttpClient, the
/// runtime, Orleans and the model providers (exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), health checks, and resilient outgoing HTTP.
/// </summary>
public static class ServiceDefaults
{
    public const string HealthPath = "/health";
    public const string AlivePath = "/alive";
    public const string MetricsPath = "/metrics";

    /// <summary>Activity sources and meters beyond ASP.NET Core and HttpClient.</summary>
    private static readonly string[] Sources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Conversations.*", "Experimental.Microsoft.Extensions.AI"];
    private static readonly string[] Meters = ["Microsoft.Orleans", "Conversations.*", "Experimental.Microsoft.Extensions.AI"];

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>
    /// Telemetry is collected only when it has somewhere to go: traces, metrics and logs over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, metrics for a Prometheus scrape when
    /// <c>Conversations:Telemetry:Prometheus</c> is on. Spans and metrics that no exporter reads cost every
    /// request CPU for nothing (measured in bench/). Traces that no request started are sampled
    /// (<see cref="RequestTraceSampler"/>).
    /// </summary>
    private static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var settings = builder.Configuration.GetSection(TelemetrySettings.Section).Get<TelemetrySettings>() ?? new TelemetrySettings();
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!otlp && !settings.Prometheus)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(Meters);
                if (settings.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (!otlp)
        {
            return builder;
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        telemetry
            .WithTracing(tracing => tracing
                .SetSampler(RequestTraceSampler.Create(settings.BackgroundTraceRatio))
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(Sources)
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsOperational(context.Request.Path))
                .AddHttpClientInstrumentation())
            .UseOtlpExporter();
        return builder;
    }

    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments(HealthPath) || path.StartsWithSegments(AlivePath) || path.StartsWithSegments(MetricsPath);

    /// <summary><c>/health</c>: ready (every check passes); <c>/alive</c>: the process is up; <c>/metrics</c>: the Prometheus scrape, when on.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthPath);
        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") });
        if (app.Configuration.GetSection(TelemetrySettings.Section).Get<TelemetrySettings>()?.Prometheus ?? new TelemetrySettings().Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath);
        }

        return app;
    }
}
