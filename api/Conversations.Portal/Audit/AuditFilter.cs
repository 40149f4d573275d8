using System.Globalization;
using Conversations.Api.Endpoints;
using Microsoft.AspNetCore.Http;

namespace Conversations.Portal.Audit;

/// <summary>
/// The audit page's filters as its form sends them (UTC days for the range, empty fields unset), turned into the
/// parameters of <c>GET /v1/admin/audit</c>: the page reads the API's query with them, and its export links carry them.
/// </summary>
public sealed record AuditFilter(string? From = null, string? To = null, string? Actor = null, string? Action = null, string? Kind = null,
    string? Model = null, string? Status = null)
{
    /// <summary>Why the filters cannot be read (a day or a status that does not parse), with the field as <c>param</c>.</summary>
    public GatewayError? Invalid =>
        From is not null && Day(From) is null ? GatewayError.Invalid("Invalid 'from': expected a day as yyyy-MM-dd.", "from", "invalid_value")
        : To is not null && Day(To) is null ? GatewayError.Invalid("Invalid 'to': expected a day as yyyy-MM-dd.", "to", "invalid_value")
        : Status is not null && StatusCode is null ? GatewayError.Invalid("Invalid 'status': expected an HTTP status such as 200 or 429.", "status", "invalid_value")
        : null;

    private int? StatusCode => int.TryParse(Status, NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? status : null;

    public static AuditFilter Read(IQueryCollection query)
    {
        string? Field(string name) => query[name].ToString().Trim() is { Length: > 0 } value ? value : null;
        return new(Field("from"), Field("to"), Field("actor"), Field("action"), Field("kind"), Field("model"), Field("status"));
    }

    /// <summary>The API's query: <see cref="From"/> from the start of its day, <see cref="To"/> to the end of its day (UTC).</summary>
    public AuditQuery Query(string? after, int? limit, string? format) =>
        new(null, Unix(From, TimeSpan.Zero), Unix(To, TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1)), Actor, Action, Kind, Model, StatusCode, limit, after, format);

    /// <summary>The query string of <c>GET /v1/admin/audit</c> for these filters, in <paramref name="format"/>.</summary>
    public string ApiParameters(string format)
    {
        var query = Query(null, null, format);
        return Encode([
            ("from", query.From?.ToString(CultureInfo.InvariantCulture)), ("to", query.To?.ToString(CultureInfo.InvariantCulture)), ("actor", Actor),
            ("action", Action), ("kind", Kind), ("model", Model), ("status", query.Status?.ToString(CultureInfo.InvariantCulture)), ("format", format)]);
    }

    /// <summary>The page's own query string for these filters, with <paramref name="extra"/> (the page size, the next page's cursor).</summary>
    public string PageParameters(params (string Name, string? Value)[] extra) =>
        Encode([("from", From), ("to", To), ("actor", Actor), ("action", Action), ("kind", Kind), ("model", Model), ("status", Status), .. extra]);

    private static string Encode(IEnumerable<(string Name, string? Value)> parameters) =>
        QueryString.Create(parameters.Where(p => p.Value is not null).Select(p => new KeyValuePair<string, string?>(p.Name, p.Value))).ToString().TrimStart('?');

    private static DateOnly? Day(string value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;

    private static long? Unix(string? value, TimeSpan offset) =>
        value is not null && Day(value) is { } day ? new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).Add(offset).ToUnixTimeSeconds() : null;
}
