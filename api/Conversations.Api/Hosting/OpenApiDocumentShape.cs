using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using Conversations.Api.Errors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Conversations.Api.Hosting;

/// <summary>
/// Makes the generated OpenAPI document (<c>/openapi/v1.json</c>) say what the API does: the bearer key every <c>/v1</c>
/// operation takes, an operation id on each, the error answers every <c>/v1</c> call can get (401, 429, 503, in OpenAI's
/// error shape), and which request and response properties are required. The generator marks every positional
/// record parameter required; these records take every field as optional (the endpoints answer a missing one with a
/// 400 in OpenAI's shape), so a property is required only where its type cannot be null or it carries
/// <see cref="RequiredAttribute"/> (e.g. a chat completion's <c>model</c> and <c>messages</c>).
/// </summary>
public static class OpenApiDocumentShape
{
    public const string SecuritySchemeName = "bearer";

    private static readonly (string Status, string Description)[] CommonErrors =
    [
        ("401", "No key, or a key that is unknown, revoked or expired (OpenAI's error shape)."),
        ("429", "A rate limit or quota of the key's tenant is used up; `retry-after` says when to retry."),
        ("503", "The cluster or its storage is briefly unavailable (a silo failing over, an outage); retry after `retry-after`."),
    ];

    public static IServiceCollection AddConversationsOpenApi(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonPropertyInfo is null && context.JsonTypeInfo.Kind == JsonTypeInfoKind.Object && schema.Properties is { Count: > 0 } properties)
            {
                schema.Required = new HashSet<string>(context.JsonTypeInfo.Properties.Where(IsRequired).Select(p => p.Name).Where(properties.ContainsKey), StringComparer.Ordinal);
            }

            return Task.CompletedTask;
        });
        options.AddDocumentTransformer((document, _, _) =>
        {
            foreach (var server in document.Servers ?? [])
            {
                server.Url = server.Url?.TrimEnd('/'); // the request's base address; a trailing slash doubles every path's
            }

            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
            document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key of this gateway: `Authorization: Bearer sk-...` (Anthropic's clients may send it as `x-api-key`).",
            };
            foreach (var (path, item) in document.Paths)
            {
                foreach (var (method, operation) in item.Operations ?? [])
                {
                    operation.OperationId ??= OperationId(method.Method, path);
                    if (path.StartsWith("/v1/", StringComparison.Ordinal))
                    {
                        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = [] }];
                        AddCommonErrors(operation, document);
                    }
                }
            }

            return Task.CompletedTask;
        });
    });

    private static void AddCommonErrors(OpenApiOperation operation, OpenApiDocument document)
    {
        operation.Responses ??= new OpenApiResponses();
        foreach (var (status, description) in CommonErrors.Where(error => !operation.Responses.ContainsKey(error.Status)))
        {
            operation.Responses[status] = new OpenApiResponse
            {
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["application/json"] = new() { Schema = new OpenApiSchemaReference(nameof(OpenAIErrorBody), document) },
                },
            };
        }
    }

    /// <summary>The method and the path's literal segments: <c>GET /v1/conversations/{conversation_id}/items</c> gives <c>getConversationsByConversationIdItems</c>.</summary>
    internal static string OperationId(string method, string path)
    {
        var words = path.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(segment => segment != "v1")
            .Select(segment => segment.StartsWith('{') ? "By" + Pascal(segment.Trim('{', '}')) : Pascal(segment));
        return method.ToLowerInvariant() + string.Concat(words);
    }

    private static string Pascal(string segment) => string.Concat(segment.Split('_', '-', '.', ':')
        .Where(word => word.Length > 0)
        .Select(word => char.ToUpper(word[0], CultureInfo.InvariantCulture) + word[1..]));

    private static bool IsRequired(JsonPropertyInfo property)
    {
        if (property.IsRequired || property.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) == true)
        {
            return true;
        }

        return property.AttributeProvider is PropertyInfo member
            && new NullabilityInfoContext().Create(member).ReadState == NullabilityState.NotNull
            && property.PropertyType != typeof(System.Text.Json.JsonElement);
    }
}
