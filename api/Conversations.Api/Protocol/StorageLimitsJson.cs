using System.Text.Json;
using System.Text.Json.Serialization;
using Conversations.Tenancy;

namespace Conversations.Api;

/// <summary>
/// A tenant's storage caps on the wire. Sent, the object replaces them all: a field left out takes its default
/// (<see cref="StorageLimits.Default"/>), a <c>null</c> lifts the cap. Read back, every field is present, null when unlimited.
/// </summary>
public sealed record StorageLimitsJson(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? Conversations,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? ItemsPerConversation,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? ItemBytes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? StoredBytes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? EndUsersPerDay)
{
    public static StorageLimitsJson From(StorageLimits limits) =>
        new(limits.Conversations, limits.ItemsPerConversation, limits.ItemBytes, limits.StoredBytes, limits.EndUsersPerDay);

    /// <summary>Each field on the wire: its largest value, and how it sets its cap.</summary>
    private static readonly Dictionary<string, (long Max, Func<StorageLimits, long?, StorageLimits> Set)> Fields = new(StringComparer.Ordinal)
    {
        ["conversations"] = (long.MaxValue, (limits, cap) => limits with { Conversations = cap }),
        ["items_per_conversation"] = (int.MaxValue, (limits, cap) => limits with { ItemsPerConversation = (int?)cap }),
        ["item_bytes"] = (int.MaxValue, (limits, cap) => limits with { ItemBytes = (int?)cap }),
        ["stored_bytes"] = (long.MaxValue, (limits, cap) => limits with { StoredBytes = cap }),
        ["end_users_per_day"] = (int.MaxValue, (limits, cap) => limits with { EndUsersPerDay = (int?)cap }),
    };

    /// <summary>The caps <paramref name="json"/> sets (null when it sets none), or a 400 naming the field at fault.</summary>
    public static Result<StorageLimits?> Read(JsonElement? json, string param)
    {
        if (json is not { ValueKind: not JsonValueKind.Null } sent)
        {
            return (StorageLimits?)null;
        }

        if (sent.ValueKind != JsonValueKind.Object)
        {
            return GatewayError.Invalid($"Invalid type for '{param}': expected an object.", param, "invalid_type");
        }

        var read = StorageLimits.Default;
        foreach (var field in sent.EnumerateObject())
        {
            var name = $"{param}.{field.Name}";
            if (!Fields.TryGetValue(field.Name, out var cap))
            {
                return GatewayError.Invalid(
                    $"Unknown parameter: '{name}'. The storage caps are {string.Join(", ", Fields.Keys)}.", name, "unknown_parameter");
            }

            if (field.Value.ValueKind == JsonValueKind.Null)
            {
                read = cap.Set(read, null);
            }
            else if (field.Value.ValueKind == JsonValueKind.Number && field.Value.TryGetInt64(out var value) && value >= 0 && value <= cap.Max)
            {
                read = cap.Set(read, value);
            }
            else
            {
                return GatewayError.Invalid($"Invalid '{name}': expected a whole number from 0 to {cap.Max}, or null for no cap.", name, "invalid_value");
            }
        }

        return read;
    }
}
