namespace Conversations.Grains.Webhooks;

/// <summary>Where webhooks may go and how they are retried, bound from <c>Conversations:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Conversations:Webhooks";

    /// <summary>
    /// When not empty, the only hosts an endpoint may name (<c>hooks.example.com</c>, or <c>*.example.com</c> for its
    /// subdomains). Empty: any host whose addresses are public.
    /// </summary>
    public List<string> AllowedHosts { get; init; } = [];

    /// <summary>
    /// Networks (CIDR, e.g. <c>10.20.0.0/16</c>) an endpoint may reach although they are not public: loopback, private,
    /// link-local and the cluster's own addresses are refused unless listed here.
    /// </summary>
    public List<string> AllowedNetworks { get; init; } = [];

    /// <summary>Allows <c>http://</c> endpoints (tests, a private network); off: <c>https://</c> only.</summary>
    public bool AllowInsecureHttp { get; init; }

    /// <summary>The wait before the first retry of a failed delivery; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long an event is retried before its delivery is given up as <c>failed</c>.</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long one delivery waits for the endpoint's answer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}
