using System.Globalization;
using System.Text;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary><c>GET /v1/usage</c>: tokens and cost over a range of UTC days, grouped by day, key, end user and model; JSON or CSV.</summary>
public static class UsageEndpoints
{
    private const int MaxDays = 366;
    private static readonly string[] Dimensions = ["day", "key", "user", "model"];

    public static RouteGroupBuilder MapUsage(this RouteGroupBuilder v1)
    {
        v1.MapGet("/usage", Report)
            .RequireScope(EndpointGroups.Usage)
            .WithTags("Usage")
            .WithSummary("Usage report (tenant admin: own tenant; platform admin: any, with 'tenant').")
            .Produces<ListJson<UsageRowJson>>()
            .Produces(200, contentType: "text/csv")
            .Produces<OpenAIErrorBody>(400);
        return v1;
    }

    private static async Task<IResult> Report(
        [AsParameters] ApiServices api, string? start_date, string? end_date, string? group_by, string? tenant, string? format)
    {
        var tenantId = tenant ?? api.Tenant;
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var today = DateOnly.FromDateTime(api.Clock.GetUtcNow().UtcDateTime);
        if (ParseDate(start_date, today, "start_date") is not { IsSuccess: true } start)
        {
            return ParseDate(start_date, today, "start_date").Error!.ToResult();
        }

        if (ParseDate(end_date, start.Value, "end_date") is not { IsSuccess: true } end)
        {
            return ParseDate(end_date, start.Value, "end_date").Error!.ToResult();
        }

        if (end.Value < start.Value || end.Value.DayNumber - start.Value.DayNumber >= MaxDays)
        {
            return GatewayError.Invalid($"Invalid range: 'end_date' must be on or after 'start_date', at most {MaxDays} days.", "end_date", "invalid_value").ToResult();
        }

        var groups = (group_by ?? "day").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (groups.FirstOrDefault(g => !Dimensions.Contains(g)) is { } unknown)
        {
            return GatewayError.Invalid($"Invalid 'group_by': unknown '{unknown}'; expected any of {string.Join(", ", Dimensions)}.", "group_by", "invalid_value").ToResult();
        }

        if (format is not (null or "json" or "csv"))
        {
            return GatewayError.Invalid("Invalid 'format': expected 'json' or 'csv'.", "format", "invalid_value").ToResult();
        }

        // Usage is written behind by the tenant's quota grain; flush it so the report includes every finished call.
        if (await api.Grains.GetGrain<ITenantQuotaGrain>(tenantId).FlushUsage() is { } unflushed)
        {
            return unflushed.ToResult();
        }

        var days = Enumerable.Range(0, end.Value.DayNumber - start.Value.DayNumber + 1).Select(start.Value.AddDays);
        var rows = (await Task.WhenAll(days.Select(day => api.Grains
                .GetGrain<IUsageGrain>(GrainKeys.For(tenantId, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))).Get())))
            .SelectMany(r => r);
        var report = Group(rows, groups.ToHashSet());
        return format == "csv"
            ? TypedResults.Text(ToCsv(report, groups), "text/csv", Encoding.UTF8)
            : TypedResults.Json(new ListJson<UsageRowJson>(report, null, null, false), ApiJson.Options);
    }

    private static List<UsageRowJson> Group(IEnumerable<UsageRow> rows, HashSet<string> groups) =>
        [.. rows
            .GroupBy(r => (
                Day: groups.Contains("day") ? r.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
                Key: groups.Contains("key") ? r.KeyId : null,
                User: groups.Contains("user") ? r.User : null,
                Model: groups.Contains("model") ? r.Model : null))
            .Select(g => new UsageRowJson(g.Key.Day, g.Key.Key, g.Key.User, g.Key.Model,
                g.Sum(r => r.Requests), g.Sum(r => r.InputTokens), g.Sum(r => r.OutputTokens),
                g.Sum(r => r.InputTokens + r.OutputTokens), g.Sum(r => r.CostUsd), g.Sum(r => r.CacheHits), g.Sum(r => r.SavedCostUsd)))
            .OrderBy(r => r.Day, StringComparer.Ordinal).ThenBy(r => r.KeyId, StringComparer.Ordinal)
            .ThenBy(r => r.User, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal)];

    private static string ToCsv(List<UsageRowJson> rows, string[] groups)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', groups.Select(g => g == "key" ? "key_id" : g)).Append(groups.Length > 0 ? "," : string.Empty)
            .Append("requests,input_tokens,output_tokens,total_tokens,cost_usd,cache_hits,saved_cost_usd\n");
        foreach (var row in rows)
        {
            foreach (var group in groups)
            {
                csv.Append(Escape(group switch { "day" => row.Day, "key" => row.KeyId, "user" => row.User, _ => row.Model })).Append(',');
            }

            csv.Append(CultureInfo.InvariantCulture, $"{row.Requests},{row.InputTokens},{row.OutputTokens},{row.TotalTokens},{row.CostUsd},{row.CacheHits},{row.SavedCostUsd}\n");
        }

        return csv.ToString();
    }

    /// <summary>Quotes a field when needed, and defuses spreadsheet formulas in user-supplied names.</summary>
    private static string Escape(string? value)
    {
        var text = value ?? string.Empty;
        if (text.Length > 0 && "=+-@".Contains(text[0], StringComparison.Ordinal))
        {
            text = "'" + text;
        }

        return text.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }

    private static Result<DateOnly> ParseDate(string? value, DateOnly fallback, string param) =>
        value is null ? fallback
        : DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date
        : GatewayError.Invalid($"Invalid '{param}': expected a date as YYYY-MM-DD.", param, "invalid_value");
}
