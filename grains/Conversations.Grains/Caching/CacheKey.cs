using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Conversations.Caching;
using Conversations.Media;

namespace Conversations.Grains.Caching;

/// <summary>
/// The response cache's key: a SHA-256 over a canonical form of everything that changes the answer. The tenant, the alias
/// and its route version, the end user when the cache is scoped to users, the messages actually sent (a turn's built
/// context, with its images, files and audio by content address), tools, <c>tool_choice</c>, parallel calls, the response format, sampling, the output limit and stop sequences. JSON written by
/// clients (tool parameters, schemas, call arguments) is canonical: its key order, whitespace and number spelling do not
/// change the key. Not in it, because they do not change the answer: the key, the conversation's id, whether it streams.
/// </summary>
public static class CacheKey
{
    /// <summary>Changes when the canonical form does, so entries of an older form are never read as this one's.</summary>
    private const int Form = 2; // 2: media parts and stop sequences joined the key

    /// <summary>The exact key: hex of the hash.</summary>
    public static string Exact(string tenant, int routeVersion, CompletionRequest request, CacheScope scope) =>
        Hash(tenant, routeVersion, request, scope, semantic: false);

    /// <summary>
    /// The semantic cache's partition: the same form without the text of the last message (the user's question, which
    /// is matched by meaning), so a paraphrase matches only when everything before it is identical.
    /// </summary>
    public static string Rest(string tenant, int routeVersion, CompletionRequest request, CacheScope scope) =>
        Hash(tenant, routeVersion, request, scope, semantic: true);

    private static string Hash(string tenant, int routeVersion, CompletionRequest request, CacheScope scope, bool semantic)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, tenant, routeVersion, request, scope, semantic);
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void Write(Utf8JsonWriter json, string tenant, int routeVersion, CompletionRequest request, CacheScope scope, bool semantic)
    {
        json.WriteStartObject();
        json.WriteNumber("form", Form);
        json.WriteBoolean("semantic", semantic);
        json.WriteString("tenant", tenant);
        json.WriteString("alias", request.Model);
        json.WriteNumber("route_version", routeVersion);
        json.WriteString("user", scope == CacheScope.User ? request.EndUser ?? string.Empty : null);
        json.WriteStartArray("messages");
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            json.WriteStartArray();
            json.WriteStringValue(message.Role);
            if (semantic && i == request.Messages.Count - 1)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(message.Text);
            }

            json.WriteStringValue(message.CallId);
            foreach (var part in message.Parts ?? [])
            {
                Write(json, part);
            }

            if (message.Call is { } call)
            {
                json.WriteStringValue(call.CallId);
                json.WriteStringValue(call.Name);
                CanonicalJson.Write(json, call.Arguments);
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WriteStartArray("tools");
        foreach (var tool in request.Tools ?? [])
        {
            json.WriteStartArray();
            json.WriteStringValue(tool.Name);
            json.WriteStringValue(tool.Description);
            CanonicalJson.Write(json, tool.Parameters);
            Write(json, tool.Strict);
            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WriteString("tool_choice", request.ToolChoice?.Mode);
        json.WriteString("tool_choice_function", request.ToolChoice?.Function);
        json.WritePropertyName("parallel_tool_calls");
        Write(json, request.ParallelToolCalls);
        json.WriteStartArray("format");
        if (request.Format is { } format)
        {
            json.WriteStringValue(format.Type);
            json.WriteStringValue(format.Name);
            CanonicalJson.Write(json, format.Schema);
            json.WriteStringValue(format.Description);
            Write(json, format.Strict);
        }

        json.WriteEndArray();
        json.WritePropertyName("temperature");
        Write(json, request.Temperature);
        json.WritePropertyName("top_p");
        Write(json, request.TopP);
        json.WritePropertyName("max_output_tokens");
        Write(json, request.MaxOutputTokens);
        json.WriteStartArray("stop");
        foreach (var stop in request.StopSequences ?? [])
        {
            json.WriteStringValue(stop);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>An image, file or audio part by what it is: its bytes' address (stored or inline), or its URL, and how it is read.</summary>
    private static void Write(Utf8JsonWriter json, ContentPart part)
    {
        json.WriteStartArray();
        json.WriteStringValue(part.Kind);
        json.WriteStringValue(part.MediaType);
        json.WriteStringValue(part.Ref ?? (part.Data is { } data ? ContentAddress.Of(data) : null));
        json.WriteStringValue(part.Url);
        json.WriteStringValue(part.FileId);
        json.WriteStringValue(part.Detail);
        json.WriteStringValue(part.Filename);
        json.WriteEndArray();
    }

    private static void Write(Utf8JsonWriter json, bool? value)
    {
        if (value is { } set)
        {
            json.WriteBooleanValue(set);
        }
        else
        {
            json.WriteNullValue();
        }
    }

    private static void Write(Utf8JsonWriter json, float? value)
    {
        if (value is { } set)
        {
            json.WriteNumberValue(set);
        }
        else
        {
            json.WriteNullValue();
        }
    }

    private static void Write(Utf8JsonWriter json, int? value)
    {
        if (value is { } set)
        {
            json.WriteNumberValue(set);
        }
        else
        {
            json.WriteNullValue();
        }
    }
}
