using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A webhook receiver on a free loopback port (real Kestrel): it verifies each delivery's signature with the StandardWebhooks
/// library and the secret the test gives it, answers the status codes the test plans (500 for the next <c>n</c> with
/// <see cref="FailNext"/>, else 200), and hands every request it got to the test in order.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<Delivery> _received = Channel.CreateUnbounded<Delivery>();
    private int _failures;

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}/hook";
    }

    public string Url { get; }

    /// <summary>The signing secret to verify with, once the endpoint is registered.</summary>
    public string? Secret { get; set; }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = FreePorts.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.MapPost("/hook", (Delegate)receiver.Receive);
        await app.StartAsync();
        return receiver;
    }

    /// <summary>The next <paramref name="count"/> deliveries are answered 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failures, count);

    /// <summary>The next request received (waits for it; the deadline, a minute unless <paramref name="wait"/> says, is a hang guard).</summary>
    public async Task<Delivery> Next(TimeSpan? wait = null)
    {
        using var deadline = new CancellationTokenSource(wait ?? TimeSpan.FromSeconds(60));
        return await _received.Reader.ReadAsync(deadline.Token);
    }

    /// <summary>A request already received and not taken yet, if any.</summary>
    public bool TryNext([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Delivery? delivery) => _received.Reader.TryRead(out delivery);

    private async Task<IResult> Receive(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        string? verification = null;
        try
        {
            new StandardWebhooks.StandardWebhook(Secret ?? throw new InvalidOperationException("no secret set")).Verify(body, context.Request.Headers);
        }
        catch (Exception exception)
        {
            verification = exception.Message;
        }

        var failing = Interlocked.Decrement(ref _failures) >= 0;
        var status = failing ? 500 : 200;
        await _received.Writer.WriteAsync(new Delivery(
            context.Request.Headers["webhook-id"].ToString(), body, System.Text.Json.JsonElement.Parse(body), verification, status));
        return Results.StatusCode(status);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <param name="VerificationError">Null when the signature verified.</param>
    /// <param name="AnsweredStatus">What the receiver answered.</param>
    public sealed record Delivery(string WebhookId, string Body, System.Text.Json.JsonElement Json, string? VerificationError, int AnsweredStatus)
    {
        public string Type => Json.GetProperty("type").GetString()!;

        public string ResponseId => Json.GetProperty("data").GetProperty("id").GetString()!;
    }
}
