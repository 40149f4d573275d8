namespace Conversations.Grains.Quotas;

/// <summary>How quota grains write their state, bound from <c>Conversations:Quotas</c> (decision 0027).</summary>
public sealed class QuotaOptions
{
    public const string Section = "Conversations:Quotas";

    /// <summary>How often a quota grain writes its state (when it changed) and hands usage rows on.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The least a write lets its activation admit before the next write: calls, reserved tokens, reserved cost (USD).
    /// Each write grants what the recent rate admits in two flush intervals, at least this. After a silo crash, the
    /// last write's grant counts as used: the most a crash can make a tenant's limits refuse that they would have admitted.
    /// </summary>
    public int MinHeadroomRequests { get; init; } = 8;

    /// <inheritdoc cref="MinHeadroomRequests"/>
    public long MinHeadroomTokens { get; init; } = 32_768;

    /// <inheritdoc cref="MinHeadroomRequests"/>
    public decimal MinHeadroomCostUsd { get; init; } = 0.05m;

    internal QuotaUse MinHeadroom => new(MinHeadroomRequests, MinHeadroomTokens, MinHeadroomCostUsd);
}
