using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Conversations.Bench;

/// <summary>
/// One keep-alive connection sending one request after another, timing each: what a client waited,
/// and, for the gateway, what it waited less the upstream's share that the gateway reports per request
/// in <c>Server-Timing: upstream;dur=…</c>. The difference of two runs' p99s mixes two independent
/// tails; this is the p99 of what the gateway added to each request.
/// </summary>
public sealed class PerRequestLatency : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 1 });
    private readonly byte[] _body;
    private readonly Uri _url;
    private readonly string? _bearer;

    public PerRequestLatency(Uri url, string body, string? bearer) =>
        (_url, _body, _bearer) = (url, System.Text.Encoding.UTF8.GetBytes(body), bearer);

    /// <summary>Every request's wait in ms, and what the gateway added to it (null when the answer named no upstream time).</summary>
    public List<(double Total, double? Added)> Samples { get; } = [];

    public async Task Run(TimeSpan duration)
    {
        var stop = Stopwatch.StartNew();
        while (stop.Elapsed < duration)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(_body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (_bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _bearer);
            }

            var started = Stopwatch.GetTimestamp();
            using var response = await _http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            var total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            response.EnsureSuccessStatusCode();
            Samples.Add((total, Upstream(response) is { } upstream ? total - upstream : null));
        }
    }

    private static double? Upstream(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Server-Timing", out var values)
        && values.FirstOrDefault(v => v.StartsWith("upstream;dur=", StringComparison.Ordinal)) is { } timing
            ? double.Parse(timing["upstream;dur=".Length..], CultureInfo.InvariantCulture)
            : null;

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    public void Dispose() => _http.Dispose();
}
