using System.Text.Json;
using System.Text.RegularExpressions;
using Conversations.Guardrails;

namespace Conversations.Api;

/// <summary>
/// A guardrail policy on the wire, on a tenant or a key:
/// <c>{"pii": {"action", "entities", "actions", "patterns", "store"}, "injection": {"action"}, "output": {"action"}}</c>.
/// Sent, the object replaces the policy (<c>{}</c> removes it); read back, only the parts that are on.
/// </summary>
public sealed partial record GuardrailsJson(GuardrailsJson.PiiJson? Pii, GuardrailsJson.InjectionJson? Injection, GuardrailsJson.ActionJson? Output)
{
    public const string StoreAsSent = "as_sent";
    public const string StoreRedacted = "redacted";

    public sealed record PiiJson(
        string Action, IReadOnlyList<string> Entities, IReadOnlyDictionary<string, string>? Actions, IReadOnlyList<PatternJson>? Patterns, string Store);

    public sealed record PatternJson(string Name, string Pattern, string? Action);

    public sealed record ActionJson(string Action);

    /// <summary><c>classifier</c>: <c>{"model": alias, "on_failure": "open" | "closed"}</c> (decision 0054).</summary>
    public sealed record InjectionJson(string Action, ClassifierJson? Classifier = null);

    public sealed record ClassifierJson(string Model, string OnFailure);

    public static GuardrailsJson? From(GuardrailPolicy? policy) => policy is null ? null : new(
        policy.Pii is { } pii
            ? new PiiJson(pii.Action, pii.Entities.Count == 0 ? PiiKinds.All : pii.Entities, pii.Actions, pii.Patterns?.Select(p => new PatternJson(p.Name, p.Pattern, p.Action)).ToList(),
                pii.StoreRedacted ? StoreRedacted : StoreAsSent)
            : null,
        policy.Injection is { } injection
            ? new InjectionJson(injection.Action, injection.Classifier is { } model ? new ClassifierJson(model, injection.FailClosed ? "closed" : "open") : null)
            : null,
        policy.Output is { } output ? new ActionJson(output.Action) : null);

    /// <summary>The policy <paramref name="json"/> sets (null when absent), or a 400 naming the field at fault.</summary>
    public static Result<GuardrailPolicy?> Read(JsonElement? json, string param)
    {
        if (json is not { ValueKind: not JsonValueKind.Null } sent)
        {
            return (GuardrailPolicy?)null;
        }

        if (sent.ValueKind != JsonValueKind.Object)
        {
            return Invalid($"Invalid type for '{param}': expected an object.", param, "invalid_type");
        }

        PiiPolicy? pii = null;
        InjectionPolicy? injection = null;
        OutputPolicy? output = null;
        foreach (var field in sent.EnumerateObject())
        {
            var name = $"{param}.{field.Name}";
            switch (field.Name)
            {
                case "pii":
                    var read = ReadPii(field.Value, name);
                    if (!read.IsSuccess)
                    {
                        return read.Error;
                    }

                    pii = read.Value;
                    break;
                case "injection":
                    var injected = ReadInjection(field.Value, name);
                    if (!injected.IsSuccess)
                    {
                        return injected.Error;
                    }

                    injection = injected.Value;
                    break;
                case "output":
                    var screened = ReadAction(field.Value, name, GuardrailActions.ForOutput);
                    if (!screened.IsSuccess)
                    {
                        return screened.Error;
                    }

                    output = new OutputPolicy(screened.Value);
                    break;
                default:
                    return Invalid($"Unknown parameter: '{name}'. A guardrail policy has pii, injection and output.", name, "unknown_parameter");
            }
        }

        return new GuardrailPolicy(pii, injection, output);
    }

    private static Result<PiiPolicy?> ReadPii(JsonElement json, string param)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            return Invalid($"Invalid type for '{param}': expected an object.", param, "invalid_type");
        }

        var action = GuardrailActions.Mask;
        IReadOnlyList<string> entities = PiiKinds.All;
        Dictionary<string, string>? actions = null;
        List<PiiPattern>? patterns = null;
        var storeRedacted = false;
        foreach (var field in json.EnumerateObject())
        {
            var name = $"{param}.{field.Name}";
            switch (field.Name)
            {
                case "action":
                    var read = ReadActionName(field.Value, name, GuardrailActions.ForPii);
                    if (!read.IsSuccess)
                    {
                        return read.Error;
                    }

                    action = read.Value;
                    break;
                case "entities":
                    if (field.Value.ValueKind != JsonValueKind.Array || field.Value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                    {
                        return Invalid($"Invalid type for '{name}': expected an array of strings.", name, "invalid_type");
                    }

                    entities = [.. field.Value.EnumerateArray().Select(e => e.GetString()!).Distinct(StringComparer.Ordinal)];
                    if (entities.FirstOrDefault(e => !PiiKinds.All.Contains(e)) is { } unknown)
                    {
                        return Invalid($"Invalid '{name}': unknown entity '{unknown}'; expected any of {string.Join(", ", PiiKinds.All)}.", name, "invalid_value");
                    }

                    break;
                case "actions":
                    if (field.Value.ValueKind != JsonValueKind.Object)
                    {
                        return Invalid($"Invalid type for '{name}': expected an object of entity to action.", name, "invalid_type");
                    }

                    actions = new(StringComparer.Ordinal);
                    foreach (var entry in field.Value.EnumerateObject())
                    {
                        var entryAction = ReadActionName(entry.Value, $"{name}.{entry.Name}", GuardrailActions.ForPii);
                        if (!entryAction.IsSuccess)
                        {
                            return entryAction.Error;
                        }

                        actions[entry.Name] = entryAction.Value;
                    }

                    break;
                case "patterns":
                    var custom = ReadPatterns(field.Value, name);
                    if (!custom.IsSuccess)
                    {
                        return custom.Error;
                    }

                    patterns = custom.Value;
                    break;
                case "store":
                    if (field.Value.ValueKind != JsonValueKind.String || field.Value.GetString() is not (StoreAsSent or StoreRedacted))
                    {
                        return Invalid($"Invalid '{name}': expected '{StoreAsSent}' or '{StoreRedacted}'.", name, "invalid_value");
                    }

                    storeRedacted = field.Value.GetString() == StoreRedacted;
                    break;
                default:
                    return Invalid($"Unknown parameter: '{name}'. The PII policy has action, entities, actions, patterns and store.", name, "unknown_parameter");
            }
        }

        var kinds = entities.Concat(patterns?.Select(p => p.Name) ?? []).ToHashSet(StringComparer.Ordinal);
        if (actions?.Keys.FirstOrDefault(kind => !kinds.Contains(kind)) is { } stray)
        {
            return Invalid($"Invalid '{param}.actions': '{stray}' is neither one of the entities nor a pattern's name.", $"{param}.actions.{stray}", "invalid_value");
        }

        return new PiiPolicy(action, entities, actions, patterns, storeRedacted);
    }

    private static Result<List<PiiPattern>> ReadPatterns(JsonElement json, string param)
    {
        if (json.ValueKind != JsonValueKind.Array)
        {
            return Invalid($"Invalid type for '{param}': expected an array of patterns.", param, "invalid_type");
        }

        var patterns = new List<PiiPattern>();
        var index = 0;
        foreach (var item in json.EnumerateArray())
        {
            var name = $"{param}[{index++}]";
            var read = item.ValueKind == JsonValueKind.Object ? TryRead(item) : null;
            if (read is null || read.Name is null || read.Pattern is null)
            {
                return Invalid($"Invalid '{name}': expected an object with 'name' and 'pattern' (and an optional 'action').", name, "invalid_type");
            }

            if (!PatternName().IsMatch(read.Name) || PiiKinds.All.Contains(read.Name) || patterns.Any(p => p.Name == read.Name))
            {
                return Invalid($"Invalid '{name}.name': use 1 to 32 lowercase letters, digits and underscores, unique and not a built-in entity.", $"{name}.name", "invalid_value");
            }

            if (read.Pattern.Length is 0 or > 512 || !Compiles(read.Pattern))
            {
                return Invalid($"Invalid '{name}.pattern': expected a .NET regular expression of at most 512 characters without lookarounds or backreferences (patterns run in linear time).", $"{name}.pattern", "invalid_value");
            }

            if (read.Action is { } action && !GuardrailActions.ForPii.Contains(action))
            {
                return Invalid($"Invalid '{name}.action': expected one of {string.Join(", ", GuardrailActions.ForPii)}.", $"{name}.action", "invalid_value");
            }

            patterns.Add(new PiiPattern(read.Name, read.Pattern, read.Action));
        }

        return patterns;
    }

    private static PatternJson? TryRead(JsonElement item)
    {
        try
        {
            return item.Deserialize<PatternJson>(ApiJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool Compiles(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
            return true;
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary><c>{"action", "classifier": {"model", "on_failure"}}</c>: the action, and optionally a classifier model failing open (the default) or closed.</summary>
    private static Result<InjectionPolicy> ReadInjection(JsonElement json, string param)
    {
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("classifier", out var classifier))
        {
            var action = ReadAction(json, param, GuardrailActions.ForInjection);
            return action.IsSuccess ? new InjectionPolicy(action.Value) : action.Error;
        }

        var withoutClassifier = JsonSerializer.SerializeToElement(json.EnumerateObject().Where(f => f.Name != "classifier").ToDictionary(f => f.Name, f => f.Value));
        var read = ReadAction(withoutClassifier, param, GuardrailActions.ForInjection);
        if (!read.IsSuccess)
        {
            return read.Error;
        }

        var name = $"{param}.classifier";
        if (classifier.ValueKind != JsonValueKind.Object)
        {
            return Invalid($"Invalid type for '{name}': expected an object with 'model' and 'on_failure'.", name, "invalid_type");
        }

        if (classifier.EnumerateObject().Select(f => f.Name).FirstOrDefault(n => n is not ("model" or "on_failure")) is { } other)
        {
            return Invalid($"Unknown parameter: '{name}.{other}'.", $"{name}.{other}", "unknown_parameter");
        }

        if (!classifier.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 } alias)
        {
            return Invalid($"Missing required parameter: '{name}.model' (a model alias).", $"{name}.model", "missing_required_parameter");
        }

        var onFailure = classifier.TryGetProperty("on_failure", out var mode) ? mode.ValueKind == JsonValueKind.String ? mode.GetString() : null : "open";
        return onFailure is "open" or "closed"
            ? new InjectionPolicy(read.Value, alias, onFailure == "closed")
            : Invalid($"Invalid '{name}.on_failure': expected one of open, closed.", $"{name}.on_failure", "invalid_value");
    }

    private static Result<string> ReadAction(JsonElement json, string param, IReadOnlyList<string> allowed)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            return Invalid($"Invalid type for '{param}': expected an object with 'action'.", param, "invalid_type");
        }

        if (json.EnumerateObject().Select(f => f.Name).FirstOrDefault(name => name != "action") is { } other)
        {
            return Invalid($"Unknown parameter: '{param}.{other}'.", $"{param}.{other}", "unknown_parameter");
        }

        return json.TryGetProperty("action", out var action)
            ? ReadActionName(action, $"{param}.action", allowed)
            : Invalid($"Missing required parameter: '{param}.action'.", $"{param}.action", "missing_required_parameter");
    }

    private static Result<string> ReadActionName(JsonElement json, string param, IReadOnlyList<string> allowed) =>
        json.ValueKind == JsonValueKind.String && json.GetString() is { } action && allowed.Contains(action)
            ? action
            : Invalid($"Invalid '{param}': expected one of {string.Join(", ", allowed)}.", param, "invalid_value");

    private static GatewayError Invalid(string message, string param, string code) => GatewayError.Invalid(message, param, code);

    [GeneratedRegex("^[a-z][a-z0-9_]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex PatternName();
}
