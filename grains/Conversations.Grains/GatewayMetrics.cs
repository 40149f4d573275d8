using System.Diagnostics.Metrics;

namespace Conversations.Grains;

/// <summary>
/// The gateway's own counters, recorded in the silos (meter <c>Conversations.Grains</c>). Attributes are
/// bounded: tenant ids (one series per tenant and outcome), route aliases and deployment names (as
/// configured), and error codes (a closed set). No end user, key or conversation id is ever an attribute.
/// </summary>
public static class GatewayMetrics
{
    public const string MeterName = "Conversations.Grains";
    public const string Admissions = "conversations.admissions";
    public const string RouteCalls = "conversations.route.calls";
    public const string RoutePlans = "conversations.route.plans";
    public const string CircuitsOpened = "conversations.circuit.opened";
    public const string BackgroundPasses = "conversations.background.passes";
    public const string CacheLookups = "conversations.cache.lookups";
    public const string GuardrailFindings = "conversations.guardrail.findings";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> AdmissionCounter = Meter.CreateCounter<long>(
        Admissions, "{call}", "Calls by tenant and admission outcome (admitted, unlimited, or the refusal's error code).");
    private static readonly Counter<long> RouteCallCounter = Meter.CreateCounter<long>(
        RouteCalls, "{call}", "Model calls by route, the deployment that served or last failed them, outcome, and whether they fell back.");
    private static readonly Counter<long> RoutePlanCounter = Meter.CreateCounter<long>(
        RoutePlans, "{plan}", "Route plans made by a silo without a grain call, by where the steady route came from (route_silo, lease).");
    private static readonly Counter<long> CircuitCounter = Meter.CreateCounter<long>(
        CircuitsOpened, "{transition}", "Times a deployment's circuit opened, as seen by the silo holding its route grain.");
    private static readonly Counter<long> BackgroundCounter = Meter.CreateCounter<long>(
        BackgroundPasses, "{pass}", "Background passes (summaries, fact extraction, recall indexing, page clearing, ingestion) by work and outcome.");

    private static readonly Counter<long> CacheCounter = Meter.CreateCounter<long>(
        CacheLookups, "{call}", "Calls on a caching route by tenant and cache outcome (hit, semantic_hit, miss, bypass).");
    private static readonly Counter<long> GuardrailCounter = Meter.CreateCounter<long>(
        GuardrailFindings, "{finding}", "What guardrails found in calls, by tenant, guardrail (pii, injection, output), kind and action taken.");

    /// <summary>The admission outcome of a call its tenant's quotas let through.</summary>
    public const string Admitted = "admitted";

    /// <summary>The admission outcome of a call whose key and tenant have no limits to check.</summary>
    public const string Unlimited = "unlimited";

    /// <param name="outcome"><see cref="Admitted"/>, <see cref="Unlimited"/>, or the refusal's error code.</param>
    public static void Admission(string tenant, string outcome) =>
        AdmissionCounter.Add(1, new("conversations.tenant", tenant), new("conversations.outcome", outcome));

    public static void RouteCall(string route, string deployment, string? error, bool fellBack) =>
        RouteCallCounter.Add(
            1, new("conversations.route", route), new("conversations.deployment", deployment),
            new("conversations.outcome", error ?? "ok"), new("conversations.fallback", fellBack));

    /// <summary>A plan made from the route its grain published in this silo (decision 0022).</summary>
    public const string PlannedInRouteSilo = "route_silo";

    /// <summary>A plan made from the route its grain, active in another silo, lent to this one (decision 0089).</summary>
    public const string PlannedOnLease = "lease";

    public static void RoutePlan(string source) => RoutePlanCounter.Add(1, new KeyValuePair<string, object?>("conversations.plan", source));

    public static void CircuitOpened(string deployment) => CircuitCounter.Add(1, new KeyValuePair<string, object?>("conversations.deployment", deployment));

    public static void BackgroundPass(string work, string outcome) =>
        BackgroundCounter.Add(1, new("conversations.work", work), new("conversations.outcome", outcome));

    /// <param name="outcome"><c>hit</c> (exact key), <c>semantic_hit</c>, <c>miss</c>, or <c>bypass</c> (the request asked not to read the cache).</param>
    public static void CacheLookup(string tenant, string outcome) =>
        CacheCounter.Add(1, new("conversations.tenant", tenant), new("conversations.outcome", outcome));

    /// <summary>Each finding of a call's guardrail report, counted as often as it was found. Kinds and actions are closed sets; no text.</summary>
    public static void Guardrails(string tenant, Conversations.Guardrails.GuardrailReport? report)
    {
        foreach (var finding in report?.Findings ?? [])
        {
            GuardrailCounter.Add(
                finding.Count, new("conversations.tenant", tenant), new("conversations.guardrail", finding.Guardrail),
                new("conversations.guardrail.kind", finding.Kind), new("conversations.guardrail.action", finding.Action));
        }
    }
}
