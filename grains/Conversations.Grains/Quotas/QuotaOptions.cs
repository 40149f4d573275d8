namespace Conversations.Grains.Quotas;

/// <summary>How quota grains write behind, bound from <c>Conversations:Quotas</c>.</summary>
public sealed class QuotaOptions
{
    public const string Section = "Conversations:Quotas";

    /// <summary>How often budget use and usage rows are written: the most a silo crash loses (decision 0005).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(2);
}
