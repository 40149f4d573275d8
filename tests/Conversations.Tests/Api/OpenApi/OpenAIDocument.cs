using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Conversations.Tests.Api.OpenApi;

/// <summary>
/// OpenAI's published OpenAPI document (vendored beside this file, see its README) as JSON Schemas: the schema an
/// operation documents for its answer, checked with JsonSchema.Net (draft 2020-12, which OpenAPI 3.1 uses).
/// </summary>
public sealed class OpenAIDocument
{
    private const string BaseUri = "https://openai-openapi.test/components";
    private static readonly Lazy<OpenAIDocument> Loaded = new(Load);

    private readonly JsonObject _paths;
    private readonly BuildOptions _build;
    private readonly Dictionary<string, JsonSchema> _schemas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _eventSchemas;

    private OpenAIDocument(JsonObject paths, BuildOptions build, Dictionary<string, string> eventSchemas)
    {
        _paths = paths;
        _build = build;
        _eventSchemas = eventSchemas;
    }

    public static OpenAIDocument Instance => Loaded.Value;

    /// <summary>The problems of <paramref name="body"/> against the schema <paramref name="name"/> (<c>components/schemas</c>); empty when it is valid.</summary>
    public IReadOnlyList<string> Check(string name, JsonElement body)
    {
        JsonSchema schema;
        lock (_schemas)
        {
            if (!_schemas.TryGetValue(name, out schema!))
            {
                var reference = new JsonObject { ["$ref"] = $"{BaseUri}#/$defs/{name}" };
                schema = JsonSchema.Build(JsonSerializer.SerializeToElement(reference), _build, new Uri($"https://openai-openapi.test/check/{name}"));
                _schemas[name] = schema;
            }
        }

        var result = schema.Evaluate(body, new EvaluationOptions { OutputFormat = Json.Schema.OutputFormat.List });
        return result.IsValid
            ? []
            : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"))
                .Distinct()
                .Take(40)];
    }

    /// <summary>The name of the schema OpenAI documents for an operation's answer, e.g. (<c>post</c>, <c>/responses</c>, <c>text/event-stream</c>).</summary>
    public string AnswerSchema(string method, string path, string contentType = "application/json", string status = "200")
    {
        var reference = _paths[path]?[method]?["responses"]?[status]?["content"]?[contentType]?["schema"]?["$ref"]?.GetValue<string>()
            ?? throw new KeyNotFoundException($"OpenAI's document has no {contentType} schema for {method.ToUpperInvariant()} {path} {status}.");
        return reference[(reference.LastIndexOf('/') + 1)..];
    }

    /// <summary>The schema of one Responses stream event by its <c>type</c> (the members of <c>ResponseStreamEvent</c>).</summary>
    public string EventSchema(string type) =>
        _eventSchemas.TryGetValue(type, out var name) ? name : throw new KeyNotFoundException($"OpenAI's document has no stream event of type '{type}'.");

    private static OpenAIDocument Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Api", "OpenApi", "openai-openapi.json");
        var document = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var schemas = document["components"]!["schemas"]!.AsObject();
        foreach (var (_, schema) in schemas)
        {
            Adapt(schema);
        }

        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = BaseUri,
            ["$defs"] = schemas.DeepClone(),
        };
        var build = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        JsonSchema.Build(JsonSerializer.SerializeToElement(root), build, new Uri(BaseUri));

        var events = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var member in schemas["ResponseStreamEvent"]!["anyOf"]!.AsArray())
        {
            var name = member!["$ref"]!.GetValue<string>().Split('/')[^1];
            if (schemas[name]?["properties"]?["type"]?["enum"] is JsonArray types)
            {
                foreach (var type in types)
                {
                    events[type!.GetValue<string>()] = name;
                }
            }
        }

        return new OpenAIDocument(document["paths"]!.AsObject(), build, events);
    }

    /// <summary>
    /// Turns OpenAPI's references into the schema's own (<c>#/components/schemas/X</c> to <c>#/$defs/X</c>), and
    /// OpenAPI 3.0's <c>nullable: true</c>, which some of the document's schemas still carry, into a <c>null</c> type.
    /// </summary>
    private static void Adapt(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["$ref"] is JsonValue reference && reference.GetValue<string>() is var target && target.StartsWith("#/components/schemas/", StringComparison.Ordinal))
                {
                    obj["$ref"] = "#/$defs/" + target["#/components/schemas/".Length..];
                }

                if (obj["nullable"] is JsonValue nullable && nullable.GetValue<bool>() && obj["type"] is JsonValue type)
                {
                    obj["type"] = new JsonArray(type.GetValue<string>(), "null");
                    if (obj["enum"] is JsonArray values)
                    {
                        values.Add(null);
                    }
                }

                // OpenAPI 3.0's boolean exclusiveMinimum/exclusiveMaximum: 2020-12 puts the bound itself there.
                foreach (var (exclusive, bound) in new[] { ("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum") })
                {
                    if (obj[exclusive] is JsonValue flag && flag.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
                    {
                        obj.Remove(exclusive);
                        if (flag.GetValue<bool>() && obj[bound] is JsonNode limit)
                        {
                            obj.Remove(bound);
                            obj[exclusive] = limit;
                        }
                    }
                }

                foreach (var (_, child) in obj.ToList())
                {
                    Adapt(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Adapt(child);
                }

                break;
        }
    }
}
