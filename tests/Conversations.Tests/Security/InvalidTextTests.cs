using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Security;

/// <summary>
/// Text that is not valid Unicode (invalid UTF-8, a lone surrogate raw or escaped) in any field the API keeps as raw JSON is
/// a 400 <c>invalid_json</c> naming the field, never a 500 (issue 17, finding 4), and changes nothing.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class InvalidTextTests(GatewayFixture fixture)
{
    /// <summary>The bad text, as the bytes that stand inside a JSON string literal.</summary>
    public static readonly byte[][] BadTexts =
    [
        [0xFF],                                 // never valid in UTF-8
        [(byte)'a', 0xC3],                      // a sequence cut short
        [0xED, 0xA0, 0x80],                     // a lone high surrogate, raw
        Encoding.ASCII.GetBytes("\\ud800"),     // a lone high surrogate, escaped
        Encoding.ASCII.GetBytes("x\\udc00y"),   // a lone low surrogate, escaped
    ];

    /// <summary>Each raw-JSON field, with <c>@@</c> where the bad text goes, and the field the error must name.</summary>
    public static readonly (string Method, string Path, string Body, string Param)[] Fields =
    [
        ("POST", "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"@@"}]}""", "messages[0].content"),
        ("POST", "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":[{"type":"text","text":"@@"}]}]}""", "messages[0].content"),
        ("POST", "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","description":"@@"}}]}""", "tools"),
        ("POST", "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"hi"}],"tool_choice":"@@"}""", "tool_choice"),
        ("POST", "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"description":"@@"}}}}""", "response_format"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":"@@"}""", "input"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":[{"role":"user","content":"@@"}]}""", "input"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":[{"role":"user","content":"hi","@@":1}]}""", "input"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"@@"}]}""", "input"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":[{"type":"function_call_output","call_id":"c","output":"@@"}]}""", "input"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":"hi","conversation":"@@"}""", "conversation"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":"hi","tools":[{"type":"function","name":"f","description":"@@"}]}""", "tools"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":"hi","tool_choice":"@@"}""", "tool_choice"),
        ("POST", "/v1/responses", """{"model":"sim-small","input":"hi","text":{"format":{"type":"json_schema","name":"n","schema":{"description":"@@"}}}}""", "text.format"),
        ("POST", "/v1/embeddings", """{"model":"local-embeddings","input":"@@"}""", "input"),
        ("POST", "/v1/embeddings", """{"model":"local-embeddings","input":["ok","@@"]}""", "input"),
        ("POST", "/v1/conversations", """{"items":[{"role":"user","content":"@@"}]}""", "items"),
        ("POST", "/v1/conversations/{conversation}/items", """{"items":[{"role":"user","content":"@@"}]}""", "items"),
    ];

    public static TheoryData<int> FieldIndexes => [.. Enumerable.Range(0, Fields.Length)];

    [Theory]
    [MemberData(nameof(FieldIndexes))]
    public async Task Text_that_is_not_valid_Unicode_in_a_raw_JSON_field_is_a_400_naming_the_field(int field)
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        var before = (await conversation.ItemsAsync()).Count;
        var (method, path, body, param) = Fields[field];

        foreach (var bad in BadTexts)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{conversation}", conversation.Id, StringComparison.Ordinal))
            {
                Content = new ByteArrayContent(WithBadText(body, bad)) { Headers = { { "Content-Type", "application/json" } } },
            };
            using var response = await http.SendAsync(request);

            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path} {param} with {Convert.ToHexString(bad)}: {(int)response.StatusCode} {text}");
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal("invalid_json", error.GetProperty("code").GetString());
            Assert.StartsWith(param, error.GetProperty("param").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, (await conversation.ItemsAsync()).Count);
    }

    /// <summary>The body's bytes with the bad text where <c>@@</c> stands.</summary>
    public static byte[] WithBadText(string body, byte[] bad)
    {
        var at = body.IndexOf("@@", StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(body[..at]), .. bad, .. Encoding.UTF8.GetBytes(body[(at + 2)..])];
    }
}
