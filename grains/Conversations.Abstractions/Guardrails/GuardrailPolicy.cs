namespace Conversations.Guardrails;

/// <summary>
/// What a tenant (narrowed per key) asks of the guardrails: PII in prompts (<see cref="Pii"/>), injection screening
/// (<see cref="Injection"/>) and screening of the model's answers (<see cref="Output"/>). A part left null is off.
/// </summary>
[GenerateSerializer, Immutable, Alias("guard.Policy")]
public sealed record GuardrailPolicy(
    [property: Id(0)] PiiPolicy? Pii = null,
    [property: Id(1)] InjectionPolicy? Injection = null,
    [property: Id(2)] OutputPolicy? Output = null)
{
    public bool IsEmpty => Pii is null && Injection is null && Output is null;

    /// <summary>
    /// The policy a key works under: its tenant's (this), made stricter by the key's own, never looser. Entities and
    /// patterns are the union; each entity takes the stricter action; items are stored redacted if either says so.
    /// </summary>
    public GuardrailPolicy NarrowedBy(GuardrailPolicy? key) => key is null || key.IsEmpty ? this : new(
        PiiPolicy.Stricter(Pii, key.Pii),
        InjectionPolicy.Stricter(Injection, key.Injection),
        Output is null ? key.Output : key.Output is null ? Output : new(GuardrailActions.Stricter(Output.Action, key.Output.Action)));
}

/// <summary>
/// PII in prompts: the <see cref="Entities"/> looked for (built-in kinds, <see cref="PiiKinds"/>), the default
/// <see cref="Action"/>, actions per entity that override it, the tenant's own <see cref="Patterns"/>, and whether a
/// conversation's items are stored redacted (<see cref="StoreRedacted"/>) or as the client sent them.
/// </summary>
[GenerateSerializer, Immutable, Alias("guard.Pii")]
public sealed record PiiPolicy(
    [property: Id(0)] string Action,
    [property: Id(1)] IReadOnlyList<string> Entities,
    [property: Id(2)] IReadOnlyDictionary<string, string>? Actions = null,
    [property: Id(3)] IReadOnlyList<PiiPattern>? Patterns = null,
    [property: Id(4)] bool StoreRedacted = false)
{
    /// <summary>What happens to a found entity of <paramref name="kind"/> (a built-in kind or a pattern's name).</summary>
    public string ActionFor(string kind) =>
        Actions is not null && Actions.TryGetValue(kind, out var action) ? action
        : Patterns?.FirstOrDefault(p => p.Name == kind)?.Action ?? Action;

    /// <summary>The built-in kinds looked for: <see cref="Entities"/>, or every kind when it names none.</summary>
    public IReadOnlyList<string> Kinds => Entities.Count == 0 ? PiiKinds.All : Entities;

    public static PiiPolicy? Stricter(PiiPolicy? tenant, PiiPolicy? key)
    {
        if (tenant is null || key is null)
        {
            return tenant ?? key;
        }

        var patterns = (tenant.Patterns ?? []).Concat((key.Patterns ?? []).Where(p => tenant.Patterns?.Any(t => t.Name == p.Name) != true)).ToList();
        var entities = tenant.Kinds.Union(key.Kinds, StringComparer.Ordinal).ToList(); // an empty list means every kind: never narrowed by a union
        var kinds = entities.Concat(patterns.Select(p => p.Name)).Distinct(StringComparer.Ordinal);
        var actions = kinds.ToDictionary(kind => kind, kind => GuardrailActions.Stricter(
            tenant.Kinds.Contains(kind) || tenant.Patterns?.Any(p => p.Name == kind) == true ? tenant.ActionFor(kind) : GuardrailActions.Flag,
            key.Kinds.Contains(kind) || key.Patterns?.Any(p => p.Name == kind) == true ? key.ActionFor(kind) : GuardrailActions.Flag), StringComparer.Ordinal);
        return new PiiPolicy(GuardrailActions.Stricter(tenant.Action, key.Action), entities, actions, patterns, tenant.StoreRedacted || key.StoreRedacted);
    }
}

/// <summary>A tenant's own kind of PII: a name (its placeholder is the name in capitals), a regular expression, and its action (the default when null).</summary>
[GenerateSerializer, Immutable, Alias("guard.Pattern")]
public sealed record PiiPattern(
    [property: Id(0)] string Name,
    [property: Id(1)] string Pattern,
    [property: Id(2)] string? Action = null);

/// <summary>
/// Prompt-injection screening of user input, tool outputs and retrieved text: <c>flag</c> or <c>block</c>. With a
/// <see cref="Classifier"/> (a model alias), the new input is also judged by that model; when it gives no verdict the call
/// goes on flagged, or, with <see cref="FailClosed"/>, is refused.
/// </summary>
[GenerateSerializer, Immutable, Alias("guard.Injection")]
public sealed record InjectionPolicy(
    [property: Id(0)] string Action,
    [property: Id(1)] string? Classifier = null,
    [property: Id(2)] bool FailClosed = false)
{
    /// <summary>The stricter action; the tenant's classifier before the key's; failing closed if either does.</summary>
    public static InjectionPolicy? Stricter(InjectionPolicy? tenant, InjectionPolicy? key) =>
        tenant is null || key is null ? tenant ?? key
        : new(GuardrailActions.Stricter(tenant.Action, key.Action), tenant.Classifier ?? key.Classifier, tenant.FailClosed || key.FailClosed);
}

/// <summary>Screening of the model's answers for the policy's PII entities: <c>redact</c>, <c>block</c> or <c>flag</c>.</summary>
[GenerateSerializer, Immutable, Alias("guard.Output")]
public sealed record OutputPolicy([property: Id(0)] string Action);

/// <summary>The actions a guardrail may take, from the mildest: flag (record only), mask (reversible), redact, block.</summary>
public static class GuardrailActions
{
    public const string Flag = "flag";
    public const string Mask = "mask";
    public const string Redact = "redact";
    public const string Block = "block";

    public static readonly IReadOnlyList<string> ForPii = [Mask, Redact, Block, Flag];
    public static readonly IReadOnlyList<string> ForInjection = [Flag, Block];
    public static readonly IReadOnlyList<string> ForOutput = [Redact, Block, Flag];

    private static int Severity(string action) => action switch { Block => 3, Redact => 2, Mask => 1, _ => 0 };

    public static string Stricter(string a, string b) => Severity(b) > Severity(a) ? b : a;
}

/// <summary>The built-in kinds of PII the recognizers find.</summary>
public static class PiiKinds
{
    public const string Email = "email";
    public const string Phone = "phone";
    public const string CreditCard = "credit_card";
    public const string Iban = "iban";
    public const string IpAddress = "ip_address";
    public const string UsSsn = "us_ssn";
    public const string Secret = "secret";

    public static readonly IReadOnlyList<string> All = [Email, Phone, CreditCard, Iban, IpAddress, UsSsn, Secret];
}
