using Conversations.Webhooks;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Webhooks;

/// <summary>What one delivery attempt got: the endpoint's status code, or the error that kept it from answering.</summary>
public readonly record struct WebhookAttempt(int? StatusCode, string? Error)
{
    public bool Delivered => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Sends one event to an endpoint, signed as Standard Webhooks and OpenAI sign (<c>webhook-id</c>, <c>webhook-timestamp</c>,
/// <c>webhook-signature</c>: <c>v1,</c> and the HMAC-SHA256 of <c>{id}.{timestamp}.{body}</c>, by the StandardWebhooks package). Every connection goes through <see cref="WebhookAddressPolicy"/> with the
/// addresses the host resolves to at that moment (a name that later resolves into a private network is refused), and
/// redirects are not followed.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient _http;
    private readonly WebhookAddressPolicy _policy;
    private readonly TimeProvider _clock;

    public WebhookSender(IOptions<WebhookOptions> options, TimeProvider clock)
    {
        _policy = new WebhookAddressPolicy(options.Value);
        _clock = clock;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = Connect,
        };
        _http = new HttpClient(handler) { Timeout = options.Value.Timeout };
    }

    public WebhookAddressPolicy Policy => _policy;

    public async Task<WebhookAttempt> Send(WebhookEndpoint endpoint, WebhookEvent webhookEvent, CancellationToken cancellationToken)
    {
        var body = Body(webhookEvent);
        var now = _clock.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", webhookEvent.Id);
        request.Headers.Add("webhook-timestamp", now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", new StandardWebhooks.StandardWebhook(endpoint.Secret).Sign(webhookEvent.Id, now, body));
        request.Headers.UserAgent.ParseAdd("Conversations-Webhooks/1");
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return new WebhookAttempt((int)response.StatusCode, null);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException)
        {
            return new WebhookAttempt(null, exception is TaskCanceledException ? "timeout" : exception.InnerException?.Message ?? exception.Message);
        }
    }

    /// <summary>The event's JSON, as OpenAI writes it.</summary>
    public static string Body(WebhookEvent webhookEvent) => new JsonObject
    {
        ["id"] = webhookEvent.Id,
        ["object"] = "event",
        ["created_at"] = webhookEvent.CreatedAt.ToUnixTimeSeconds(),
        ["type"] = webhookEvent.Type,
        ["data"] = new JsonObject { ["id"] = webhookEvent.ResponseId },
    }.ToJsonString();

    private async ValueTask<Stream> Connect(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0 || addresses.Any(address => !_policy.Allows(address)))
        {
            throw new HttpRequestException($"'{host}' resolves to an address webhooks may not reach.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _http.Dispose();
}
