using System.ClientModel;
using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;
using OpenAI.Responses;

namespace Conversations.Tests.Api;

/// <summary>
/// Function calling through the official OpenAI SDK, routed over real HTTP to an OpenAI-compatible
/// upstream (the simulated one calls a tool when told <c>[sim:call=name]</c> and quotes tool outputs
/// once it is given them). The upstream records what it received, so the tests see the exact wire shape.
/// </summary>
public sealed class FunctionCallingTests : UpstreamGatewayTest
{
    private const string WeatherSchema = """{"type":"object","properties":{"input":{"type":"string"}},"required":["input"]}""";

    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "The weather in a city.", BinaryData.FromString(WeatherSchema));

    private ChatClient Chat => Gateway.OpenAI().GetChatClient("remote");

    [Fact]
    public async Task A_chat_tool_call_round_trip_reaches_the_upstream_in_openai_shape()
    {
        var options = new ChatCompletionOptions { Tools = { Weather } };
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("Weather in Lisbon? [sim:call=get_weather]")];

        ChatCompletion called = await Chat.CompleteChatAsync(messages, options);

        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, called.FinishReason);
        var call = Assert.Single(called.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("""{"input":"Weather in Lisbon?"}""", call.FunctionArguments.ToString()); // compact, as models write arguments

        messages.Add(new AssistantChatMessage(called));
        messages.Add(new ToolChatMessage(call.Id, "22 degrees and sunny"));
        ChatCompletion answered = await Chat.CompleteChatAsync(messages, options);

        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, answered.FinishReason);
        Assert.Contains("22 degrees and sunny", answered.Content[0].Text, StringComparison.Ordinal);
        var sent = (await Upstream.ReceivedRequests())[^1];
        Assert.Equal("get_weather", sent.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        var wire = sent.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "tool"], wire.Select(m => m.GetProperty("role").GetString()));
        var sentCall = wire[1].GetProperty("tool_calls")[0];
        Assert.Equal(call.Id, sentCall.GetProperty("id").GetString());
        Assert.Equal("get_weather", sentCall.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(call.Id, wire[2].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public async Task Function_schemas_strict_and_the_tool_choice_reach_the_upstream_exactly_as_the_client_wrote_them()
    {
        const string Open = """{"type":"object","properties":{"labels":{"type":"object"}},"additionalProperties":{"type":"string"}}""";
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "The weather in a city.", BinaryData.FromString(WeatherSchema), functionSchemaIsStrict: true),
                ChatTool.CreateFunctionTool("tag", "Tags a city.", BinaryData.FromString(Open)),
            },
            ToolChoice = ChatToolChoice.CreateFunctionChoice("tag"),
            AllowParallelToolCalls = false,
        };

        await Chat.CompleteChatAsync([new UserChatMessage("marker-exact-tools")], options);

        var sent = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains("marker-exact-tools", StringComparison.Ordinal));
        var tools = sent.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("function")).ToList();
        Assert.True(JsonElement.DeepEquals(JsonElement.Parse(WeatherSchema), tools[0].GetProperty("parameters")), tools[0].GetRawText()); // no additionalProperties added
        Assert.True(tools[0].GetProperty("strict").GetBoolean());
        Assert.True(JsonElement.DeepEquals(JsonElement.Parse(Open), tools[1].GetProperty("parameters")), tools[1].GetRawText()); // a schema-valued additionalProperties kept
        Assert.False(tools[1].TryGetProperty("strict", out _));
        Assert.Equal("tag", sent.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
        Assert.False(sent.GetProperty("parallel_tool_calls").GetBoolean());
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("none")]
    [InlineData("required")]
    public async Task A_tool_choice_mode_reaches_the_upstream_as_the_client_sent_it(string choice)
    {
        using var http = Gateway.Http();
        var marker = $"marker-choice-{choice}";

        using var response = await http.PostAsync("/v1/chat/completions", Json(
            $$$"""{"model":"remote","messages":[{"role":"user","content":"{{{marker}}}"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"{{{choice}}}"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains(marker, StringComparison.Ordinal));
        Assert.Equal(choice, sent.GetProperty("tool_choice").GetString());
    }

    [Fact]
    public async Task A_streamed_chat_completion_delivers_parallel_calls_with_ids_names_and_arguments()
    {
        var options = new ChatCompletionOptions { Tools = { Weather, ChatTool.CreateFunctionTool("get_time", "The time in a city.") } };
        var calls = new Dictionary<int, (string? Id, string? Name, string Arguments)>();
        OpenAI.Chat.ChatFinishReason? finish = null;

        await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("Porto [sim:call=get_weather] [sim:call=get_time]")], options))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                var seen = calls.GetValueOrDefault(part.Index, (null, null, string.Empty));
                calls[part.Index] = (seen.Id ?? part.ToolCallId, seen.Name ?? part.FunctionName, seen.Arguments + part.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, finish);
        Assert.Equal(["get_weather", "get_time"], calls.OrderBy(c => c.Key).Select(c => c.Value.Name));
        Assert.All(calls.Values, call => Assert.False(string.IsNullOrEmpty(call.Id)));
        Assert.All(calls.Values, call => Assert.Equal("Porto", JsonDocument.Parse(call.Arguments).RootElement.GetProperty("input").GetString()));
    }

    [Fact]
    public async Task A_conversation_keeps_the_call_and_its_output_and_sends_them_back_together()
    {
        var responses = Gateway.OpenAI().GetResponsesClient();
        using var http = Gateway.Http();
        var conversation = JsonDocument.Parse(await (await http.PostAsync("/v1/conversations", Json("{}"))).Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(WeatherSchema), strictModeEnabled: false, functionDescription: "The weather in a city.");

        ResponseResult called = await responses.CreateResponseAsync(new CreateResponseOptions("remote", [ResponseItem.CreateUserMessageItem("Lisbon? [sim:call=get_weather]")])
        {
            ConversationOptions = new ResponseConversationOptions(conversation),
            Tools = { tool },
        });
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(called.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);

        ResponseResult answered = await responses.CreateResponseAsync(new CreateResponseOptions("remote", [ResponseItem.CreateFunctionCallOutputItem(call.CallId, "22 degrees")])
        {
            ConversationOptions = new ResponseConversationOptions(conversation),
            Tools = { tool },
        });

        Assert.Contains("22 degrees", answered.GetOutputText(), StringComparison.Ordinal);
        var items = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation}/items?order=asc")).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["message", "function_call", "function_call_output", "message"], items.Select(i => i.GetProperty("type").GetString()));
        Assert.Equal(call.CallId, items[1].GetProperty("call_id").GetString());
        Assert.Equal(call.CallId, items[2].GetProperty("call_id").GetString());
        Assert.Equal("22 degrees", items[2].GetProperty("output").GetString());
        var wire = (await Upstream.ReceivedRequests())[^1].GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "tool"], wire.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(call.CallId, wire[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_streamed_response_announces_the_call_as_a_function_call_item()
    {
        using var http = Gateway.Http();
        var body = """{"model":"remote","stream":true,"input":"Faro [sim:call=get_weather]","tools":[{"type":"function","name":"get_weather","strict":true,"parameters":{"type":"object","properties":{},"additionalProperties":false}}]}""";

        using var response = await http.PostAsync("/v1/responses", Json(body));
        var events = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line["data: ".Length..]).RootElement).ToList();

        var types = events.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta",
             "response.function_call_arguments.done", "response.output_item.done", "response.completed"],
            types);
        Assert.Equal("function_call", events[2].GetProperty("item").GetProperty("type").GetString());
        var done = events[^1].GetProperty("response").GetProperty("output")[0];
        Assert.Equal("get_weather", done.GetProperty("name").GetString());
        Assert.Equal("Faro", JsonDocument.Parse(done.GetProperty("arguments").GetString()!).RootElement.GetProperty("input").GetString());
        Assert.Equal("get_weather", events[^1].GetProperty("response").GetProperty("tools")[0].GetProperty("name").GetString());
        Assert.True(events[^1].GetProperty("response").GetProperty("tools")[0].GetProperty("strict").GetBoolean());
    }

    [Theory]
    [InlineData("""{"model":"remote","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"bad name"}}]}""", "tools[0].function.name")]
    [InlineData("""{"model":"remote","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"model":"remote","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","strict":"yes"}}]}""", "tools[0].function.strict")]
    [InlineData("""{"model":"remote","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice")]
    [InlineData("""{"model":"remote","messages":[{"role":"tool","content":"x"}]}""", "messages[0].tool_call_id")]
    [InlineData("""{"model":"remote","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"not json"}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"remote","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c1","type":"function","function":{"name":"g","arguments":"{}"}}]}]}""", "messages[0].tool_calls[1].id")]
    public async Task Malformed_tools_and_calls_are_refused_naming_the_field(string body, string param)
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync("/v1/chat/completions", Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, param);
    }

    [Fact]
    public async Task An_output_for_a_call_the_conversation_never_made_is_refused_and_appends_nothing()
    {
        using var http = Gateway.Http();
        var conversation = JsonDocument.Parse(await (await http.PostAsync("/v1/conversations", Json("{}"))).Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var body = JsonSerializer.Serialize(new { model = "remote", conversation, input = new[] { new { type = "function_call_output", call_id = "call_unknown", output = "x" } } });

        using var response = await http.PostAsync("/v1/responses", Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, "input");
        var items = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation}/items")).RootElement.GetProperty("data");
        Assert.Equal(0, items.GetArrayLength());
    }

    [Fact]
    public async Task A_call_sent_again_or_an_output_sent_twice_is_refused_as_invalid_not_as_too_long()
    {
        using var http = Gateway.Http();
        var conversation = JsonDocument.Parse(await (await http.PostAsync("/v1/conversations", Json("{}"))).Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var tools = new[] { new { type = "function", name = "get_weather" } };
        using var called = await http.PostAsync("/v1/responses", Json(JsonSerializer.Serialize(new { model = "remote", conversation, tools, input = "Lisbon [sim:call=get_weather]" })));
        var call = JsonDocument.Parse(await called.Content.ReadAsStringAsync()).RootElement.GetProperty("output")[0];
        var callId = call.GetProperty("call_id").GetString()!;
        var output = new { type = "function_call_output", call_id = callId, output = "22 degrees" };
        using var answered = await http.PostAsync("/v1/responses", Json(JsonSerializer.Serialize(new { model = "remote", conversation, tools, input = new[] { output } })));

        using var outputAgain = await http.PostAsync("/v1/responses", Json(JsonSerializer.Serialize(new { model = "remote", conversation, tools, input = new[] { output } })));
        using var callAgain = await http.PostAsync("/v1/responses", Json(JsonSerializer.Serialize(new
        {
            model = "remote", conversation, tools,
            input = new object[] { new { type = "function_call", call_id = callId, name = "get_weather", arguments = "{}" }, output },
        })));
        using var callAlone = await http.PostAsync("/v1/responses", Json(JsonSerializer.Serialize(new
        {
            model = "remote", conversation, tools, input = new object[] { new { type = "function_call", call_id = "call_new", name = "get_weather", arguments = "{}" } },
        })));

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Contains("already has an output", (await outputAgain.AssertOpenAIError(HttpStatusCode.BadRequest, "input")).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("already in the conversation", (await callAgain.AssertOpenAIError(HttpStatusCode.BadRequest, "input")).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("no function_call_output", (await callAlone.AssertOpenAIError(HttpStatusCode.BadRequest, "input")).GetProperty("message").GetString(), StringComparison.Ordinal);
        var items = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation}/items")).RootElement.GetProperty("data");
        Assert.Equal(4, items.GetArrayLength()); // the two turns, and nothing from the refused ones
    }

    [Fact]
    public async Task An_answer_that_only_calls_functions_has_null_content_and_replays_as_function_call_events()
    {
        using var http = Gateway.Http();
        var chatBody = """{"model":"remote","messages":[{"role":"user","content":"x [sim:call=f]"}],"tools":[{"type":"function","function":{"name":"f"}}]}""";
        var responseBody = """{"model":"remote","stream":true,"input":"y [sim:call=f]","tools":[{"type":"function","name":"f"}]}""";

        using var chat = await http.PostAsync("/v1/chat/completions", Json(chatBody));
        var message = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message");
        var first = await Stream(http, responseBody, "replay-calls-1");
        var replayed = await Stream(http, responseBody, "replay-calls-1");

        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        Assert.Equal("f", message.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(1, (await Upstream.ReceivedRequests()).Count(r => r.GetRawText().Contains("y [sim:call=f]", StringComparison.Ordinal))); // the retry called no model
        Assert.Contains("response.function_call_arguments.done", replayed.Types);
        Assert.Equal(first.CallId, replayed.CallId);
    }

    private static async Task<(List<string> Types, string? CallId)> Stream(HttpClient http, string body, string idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = Json(body) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await http.SendAsync(request);
        var events = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line["data: ".Length..]).RootElement).ToList();
        var done = events.FirstOrDefault(e => e.GetProperty("type").GetString() == "response.output_item.done");
        return ([.. events.Select(e => e.GetProperty("type").GetString()!)], done.ValueKind == JsonValueKind.Undefined ? null : done.GetProperty("item").GetProperty("call_id").GetString());
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
