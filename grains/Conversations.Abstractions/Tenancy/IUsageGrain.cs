namespace Conversations.Tenancy;

/// <summary>One tenant's usage on one UTC day, keyed <c>{tenant}/{yyyy-MM-dd}</c>, aggregated per key, end user and model.</summary>
public interface IUsageGrain : IGrainWithStringKey
{
    /// <summary>Adds a batch of rows; a batch already recorded (a retry) is ignored.</summary>
    Task<GatewayError?> Record(Guid batchId, IReadOnlyList<UsageRow> rows);

    Task<IReadOnlyList<UsageRow>> Get();
}

/// <summary>Usage of one key, end user and model: a row of the usage report; cache hits count as requests, with the cost they saved.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.UsageRow")]
public sealed record UsageRow(
    [property: Id(0)] DateOnly Day,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string User,
    [property: Id(3)] string Model,
    [property: Id(4)] long Requests,
    [property: Id(5)] long InputTokens,
    [property: Id(6)] long OutputTokens,
    [property: Id(7)] decimal CostUsd,
    [property: Id(8)] long CacheHits = 0,
    [property: Id(9)] decimal SavedCostUsd = 0)
{
    public (DateOnly, string, string, string) Group => (Day, KeyId, User, Model);

    public UsageRow Add(UsageRow other) => this with
    {
        Requests = Requests + other.Requests,
        InputTokens = InputTokens + other.InputTokens,
        OutputTokens = OutputTokens + other.OutputTokens,
        CostUsd = CostUsd + other.CostUsd,
        CacheHits = CacheHits + other.CacheHits,
        SavedCostUsd = SavedCostUsd + other.SavedCostUsd,
    };
}
