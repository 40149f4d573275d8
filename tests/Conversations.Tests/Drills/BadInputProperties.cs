using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;
using CsCheck;

namespace Conversations.Tests.Drills;

/// <summary>
/// Property: whatever arrives (malformed JSON, wrong types, bad UTF-8 and lone surrogates anywhere, huge strings, odd headers,
/// unknown ids) on any endpoint, the answer is a 2xx or a 4xx in OpenAI's error shape, never a 5xx,
/// and a refused request changes nothing. A larger run lives in bench/ (scenario "fuzz").
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class BadInputProperties(GatewayFixture fixture)
{
    private static readonly string[] FieldNames =
        ["model", "messages", "input", "conversation", "items", "metadata", "stream", "stream_options", "temperature", "top_p",
         "max_tokens", "max_output_tokens", "previous_response_id", "instructions", "store", "role", "content", "type", "user", "n", "tools",
         "tool_choice", "parallel_tool_calls", "tool_calls", "tool_call_id", "function", "name", "parameters", "call_id", "arguments", "output",
         "response_format", "json_schema", "schema", "text", "format", "context_policy", "knowledge_bases",
         "image_url", "url", "detail", "file", "file_id", "file_data", "filename", "input_audio", "data", "purpose", "label", "credential", "allowed_mcp_tools"];

    /// <summary>250 in the suite; the larger run sets <c>CONVERSATIONS_FUZZ_ITERATIONS</c> (see bench/README.md).</summary>
    private static readonly long Iterations =
        long.TryParse(Environment.GetEnvironmentVariable("CONVERSATIONS_FUZZ_ITERATIONS"), out var configured) ? configured : 250;

    private static readonly string[] ContentTypes = ["application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "", "multipart/form-data; boundary=x", "multipart/form-data"];

    [Fact]
    public async Task Every_endpoint_answers_bad_input_with_a_4xx_in_OpenAIs_shape_and_changes_nothing()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        await conversation.TurnAsync("baseline");
        var items = (await conversation.ItemsAsync()).Count;

        await Requests(conversation.Id).SampleAsync(async request =>
        {
            using var message = request.ToMessage();
            using var response = await http.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            Assert.True(status < 500, $"{request} answered {status}: {body}");
            if (status >= 400)
            {
                var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
                Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
                Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _), body);
                var now = (await conversation.ItemsAsync()).Count;
                Assert.True(now == items, $"{request} was refused ({status}) but the conversation changed from {items} to {now} items.");
            }
            else
            {
                items = (await conversation.ItemsAsync()).Count; // accepted by chance: the new baseline
            }
        }, iter: Iterations, threads: 1);
    }

    private static Gen<FuzzRequest> Requests(string conversationId)
    {
        var ids = Gen.OneOf(Gen.Const(conversationId), Gen.Const("conv_0123456789abcdef"), Gen.String[0, 40].Select(Uri.EscapeDataString));
        var endpoint = Gen.OneOf(
            Gen.Const(("POST", "/v1/chat/completions")),
            Gen.Const(("POST", "/v1/responses")),
            Gen.Const(("POST", "/v1/conversations")),
            ids.Select(id => ("POST", $"/v1/conversations/{id}")),
            ids.Select(id => ("POST", $"/v1/conversations/{id}/items")),
            ids.Select(id => ("GET", $"/v1/conversations/{id}")),
            Gen.Select(ids, Gen.String[0, 12], Gen.Int[-5, 500], (id, order, limit) =>
                ("GET", $"/v1/conversations/{id}/items?order={Uri.EscapeDataString(order)}&limit={limit}&after={Uri.EscapeDataString(order)}")),
            ids.Select(id => ("GET", $"/v1/responses/{id}")),
            ids.Select(id => ("DELETE", $"/v1/responses/{id}")),
            Gen.Const(("POST", "/v1/files")),
            ids.Select(id => ("GET", $"/v1/files/{id}")),
            ids.Select(id => ("GET", $"/v1/files/{id}/content")),
            ids.Select(id => ("DELETE", $"/v1/files/{id}")),
            Gen.Select(Gen.String[0, 12], Gen.String[0, 6], (purpose, limit) => ("GET", $"/v1/files?purpose={Uri.EscapeDataString(purpose)}&limit={Uri.EscapeDataString(limit)}")),
            Gen.Const(("POST", "/v1/admin/tenants")),
            Gen.Const(("POST", "/v1/admin/tenants/default/mcp_servers")),
            Gen.Const(("POST", "/v1/admin/tenants/default/keys")),
            Gen.String[0, 20].Select(t => ("GET", $"/v1/usage?start_date={Uri.EscapeDataString(t)}&group_by={Uri.EscapeDataString(t)}")));
        return Gen.Select(endpoint, Bodies(conversationId), Gen.OneOf(ContentTypes), Gen.String[0, 300].Null(0.7),
            (e, body, contentType, key) => new FuzzRequest(e.Item1, e.Item2, body, contentType, key));
    }

    private static Gen<byte[]> Bodies(string conversationId)
    {
        var scalar = Gen.OneOf<JsonNode?>(
            Gen.String.Select(s => (JsonNode?)s),
            Gen.Double.Select(d => double.IsFinite(d) ? (JsonNode?)d : null),
            Gen.Long.Select(l => (JsonNode?)l),
            Gen.Bool.Select(b => (JsonNode?)b),
            Gen.Const<JsonNode?>((JsonNode?)null),
            Gen.Const<JsonNode?>((JsonNode?)conversationId),
            Gen.Const<JsonNode?>((JsonNode?)"sim-small"),
            Gen.Const<JsonNode?>((JsonNode?)"function"),
            Gen.Const<JsonNode?>((JsonNode?)"json_schema"),
            Gen.Const<JsonNode?>((JsonNode?)"image_url"),
            Gen.Const<JsonNode?>((JsonNode?)"input_image"),
            Gen.Const<JsonNode?>((JsonNode?)"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
            Gen.Const<JsonNode?>((JsonNode?)"function_call_output"),
            Gen.Int[0, 70_000].Select(n => (JsonNode?)new string('x', n)));
        var value = Gen.OneOf(
            scalar,
            scalar.Array[0, 4].Select(a => (JsonNode?)new JsonArray([.. a.Select(n => n?.DeepClone())])),
            Gen.Select(Gen.OneOf(FieldNames), scalar, (k, v) => (JsonNode?)new JsonObject { [k] = v?.DeepClone() }).Array[0, 3]
                .Select(objects => (JsonNode?)new JsonArray([.. objects.Select(n => n?.DeepClone())])));
        var structured = Gen.Select(Gen.OneOf(FieldNames), value).Array[0, 6].Select(fields =>
        {
            var json = new JsonObject();
            foreach (var (name, node) in fields.Select(f => (f.Item1, f.Item2)))
            {
                json[name] = node?.DeepClone();
            }

            return Encoding.UTF8.GetBytes(json.ToJsonString());
        });
        // A realistic body for a raw-JSON field with text that is not valid Unicode in it (invalid UTF-8, a lone surrogate).
        var badText = Gen.Select(Gen.Int[0, Security.InvalidTextTests.Fields.Length - 1], Gen.Int[0, Security.InvalidTextTests.BadTexts.Length - 1],
            (field, bad) => Security.InvalidTextTests.WithBadText(Security.InvalidTextTests.Fields[field].Body, Security.InvalidTextTests.BadTexts[bad]));
        return Gen.Frequency<byte[]>(
            (6, (IGen<byte[]>)structured),
            (2, badText),
            (1, Gen.Byte.Array[0, 200]),
            (1, Gen.String[0, 200].Select(Encoding.UTF8.GetBytes)),
            (1, Gen.Int[1, 200].Select(depth => Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth)))));
    }

    public sealed record FuzzRequest(string Method, string Path, byte[] Body, string ContentType, string? IdempotencyKey)
    {
        public HttpRequestMessage ToMessage()
        {
            var message = new HttpRequestMessage(new HttpMethod(Method), Path);
            if (Method != "GET")
            {
                message.Content = new ByteArrayContent(Body);
                if (ContentType.Length > 0)
                {
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            if (IdempotencyKey is not null)
            {
                message.Headers.TryAddWithoutValidation("Idempotency-Key", IdempotencyKey);
            }

            return message;
        }

        public override string ToString() =>
            $"{Method} {Path} [{ContentType}] key={IdempotencyKey?.Length} body={Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 200)])}";
    }
}
