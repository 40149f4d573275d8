namespace Conversations.Tenancy;

/// <summary>
/// Limits for one scope (a tenant, an API key, or an end user). Null means unlimited. Minute limits
/// are sliding windows; daily and monthly budgets follow UTC calendar days and months.
/// </summary>
[GenerateSerializer, Immutable, Alias("tenancy.Limits")]
public sealed record Limits(
    [property: Id(0)] int? RequestsPerMinute = null,
    [property: Id(1)] int? TokensPerMinute = null,
    [property: Id(2)] int? MaxConcurrentRequests = null,
    [property: Id(3)] long? DailyTokens = null,
    [property: Id(4)] long? MonthlyTokens = null,
    [property: Id(5)] decimal? DailyCostUsd = null,
    [property: Id(6)] decimal? MonthlyCostUsd = null)
{
    public static Limits None { get; } = new();

    public bool IsUnlimited => this == None;
}
