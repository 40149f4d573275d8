using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Context;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Conversations.Tests.Mcp;

/// <summary>
/// The built-in MCP server at <c>/mcp</c> through the official MCP C# client over real HTTP: tools offered by the key's
/// scopes, each acting only within the key's tenant.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class McpServerTests(GatewayFixture fixture)
{
    private static readonly string[] ConversationTools = ["conversation_facts_get", "conversation_facts_set", "conversation_search"];

    [Fact]
    public async Task A_key_is_offered_only_the_tools_its_scopes_allow_and_cannot_call_the_others()
    {
        using var admin = fixture.Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant();
        var (_, conversationsOnly) = await tenants.CreateKey(tenant, "member", new { allowed_endpoints = new[] { "conversations" } });
        var (_, knowledgeOnly) = await tenants.CreateKey(tenant, "member", new { allowed_endpoints = new[] { "knowledge" } });

        await using var all = await Connect(GatewayFactory.ApiKey);
        await using var noKnowledge = await Connect(conversationsOnly);
        await using var onlyKnowledge = await Connect(knowledgeOnly);
        var allTools = await all.ListToolsAsync();

        Assert.Equal([.. ConversationTools, "knowledge_search", "list_knowledge_bases"], allTools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(ConversationTools, (await noKnowledge.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["knowledge_search", "list_knowledge_bases"], (await onlyKnowledge.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal));
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () =>
            await noKnowledge.CallToolAsync("knowledge_search", new Dictionary<string, object?> { ["query"] = "x", ["knowledge_base_ids"] = new[] { "kb_x" } }));
        Assert.Contains("Unknown tool", refused.Message, StringComparison.Ordinal);

        // Good enough for a model to use unprompted: a description, and a schema naming what is required.
        var search = allTools.Single(t => t.Name == "knowledge_search");
        Assert.Contains("citation", search.Description, StringComparison.Ordinal);
        Assert.Equal(["knowledge_base_ids", "query"], search.JsonSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_request_needs_a_valid_key_and_a_plain_http_request_lists_the_tools()
    {
        await Assert.ThrowsAnyAsync<Exception>(() => Connect("sk-not-a-key"));

        using var anonymous = new HttpClient { BaseAddress = fixture.Gateway.BaseAddress };
        using var refused = await anonymous.PostAsync("/mcp", ChatCompletionsTests.Json("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // The plain request api.md shows: no initialize, no session, the key as x-api-key.
        using var http = new HttpClient { BaseAddress = fixture.Gateway.BaseAddress };
        http.DefaultRequestHeaders.Add("x-api-key", GatewayFactory.ApiKey);
        http.DefaultRequestHeaders.Add("Accept", "application/json, text/event-stream");
        using var listed = await http.PostAsync("/mcp", ChatCompletionsTests.Json("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""));
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Contains("\"knowledge_search\"", await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Facts_set_through_the_tools_are_the_conversations_facts_and_another_tenant_cannot_reach_them()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await CreateConversation(http, "I am planning a trip.");
        await using var mine = await Connect(GatewayFactory.ApiKey);
        await using var other = await Connect(GatewayFactory.OtherTenantKey);

        var set = await mine.CallToolAsync("conversation_facts_set", new Dictionary<string, object?>
        {
            ["conversation_id"] = conversation,
            ["facts"] = new Dictionary<string, string?> { ["destination"] = "Lisbon", ["budget"] = "900 EUR" },
        });
        var removed = await mine.CallToolAsync("conversation_facts_set", new Dictionary<string, object?>
        {
            ["conversation_id"] = conversation,
            ["facts"] = new Dictionary<string, string?> { ["budget"] = null },
        });
        var read = await mine.CallToolAsync("conversation_facts_get", new Dictionary<string, object?> { ["conversation_id"] = conversation });
        var stolen = await other.CallToolAsync("conversation_facts_get", new Dictionary<string, object?> { ["conversation_id"] = conversation });
        var overwritten = await other.CallToolAsync("conversation_facts_set", new Dictionary<string, object?>
        {
            ["conversation_id"] = conversation,
            ["facts"] = new Dictionary<string, string?> { ["destination"] = "Oslo" },
        });

        Assert.True(set.IsError is not true, Text(set));
        Assert.Equal("900 EUR", Json(set).GetProperty("facts").GetProperty("budget").GetString());
        Assert.False(Json(removed).GetProperty("facts").TryGetProperty("budget", out _));
        Assert.Equal("Lisbon", Json(read).GetProperty("facts").GetProperty("destination").GetString());
        Assert.True(stolen.IsError);
        Assert.True(overwritten.IsError);
        Assert.Contains("no conversation found", Text(stolen), StringComparison.Ordinal);
        var state = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{conversation}/state", UriKind.Relative))).RootElement;
        Assert.Equal("Lisbon", state.GetProperty("facts").GetProperty("destination").GetString()); // the same facts the REST API keeps
    }

    [Fact]
    public async Task Conversation_search_recalls_the_message_that_matches_within_the_callers_tenant()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await CreateConversation(http, "My cat Miso is allergic to chicken.", "The train to Porto leaves at nine.");
        await using var mine = await Connect(GatewayFactory.ApiKey);
        await using var other = await Connect(GatewayFactory.OtherTenantKey);
        var arguments = new Dictionary<string, object?> { ["conversation_id"] = conversation, ["query"] = "What food must the pet avoid?", ["top_k"] = 1 };

        // Items are embedded in the background; the condition, not the clock, ends the wait.
        var found = await Eventually.Get(async () =>
        {
            var result = await mine.CallToolAsync("conversation_search", arguments);
            return Json(result).GetProperty("results") is { ValueKind: JsonValueKind.Array } results && results.GetArrayLength() > 0 ? (JsonElement?)results[0] : null;
        });
        var stolen = await other.CallToolAsync("conversation_search", arguments);

        Assert.Contains("allergic to chicken", found.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("msg_", found.GetProperty("item_id").GetString(), StringComparison.Ordinal);
        Assert.True(stolen.IsError);
    }

    [Fact]
    public async Task Knowledge_search_returns_the_passage_that_answers_with_its_citation_and_only_to_its_tenant()
    {
        using var http = fixture.Gateway.Http();
        var knowledge = new KnowledgeBaseClient(http);
        var kb = await knowledge.Create();
        var document = await knowledge.Ingest(kb, "manual.md", string.Join("\n\n",
            "# Espresso machine manual",
            "## Cleaning\nDescale the boiler every month with citric acid and empty the drip tray daily.",
            "## Warranty\nThe pump and the boiler are covered by a warranty of 2 years from the date of purchase."));
        await using var mine = await Connect(GatewayFactory.ApiKey);
        await using var other = await Connect(GatewayFactory.OtherTenantKey);
        var arguments = new Dictionary<string, object?> { ["query"] = "How long is the pump warranty?", ["knowledge_base_ids"] = new[] { kb }, ["top_k"] = 3 };

        var result = await mine.CallToolAsync("knowledge_search", arguments);
        var stolen = await other.CallToolAsync("knowledge_search", arguments);

        Assert.True(result.IsError is not true, Text(result));
        var best = Json(result).GetProperty("results")[0];
        Assert.Contains("2 years", best.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.StartsWith($"{kb}/{document.GetProperty("id").GetString()}#", best.GetProperty("citation").GetString(), StringComparison.Ordinal);
        Assert.True(stolen.IsError);
        Assert.Contains("no knowledge base found", Text(stolen), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_knowledge_bases_names_the_callers_knowledge_bases_and_not_another_tenants_or_a_deleted_one()
    {
        using var http = fixture.Gateway.Http();
        var knowledge = new KnowledgeBaseClient(http);
        var kept = await knowledge.Create("Espresso machine manuals");
        var deleted = await knowledge.Create("Old price lists");
        using var removed = await http.DeleteAsync(new Uri($"/v1/knowledge_bases/{deleted}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        await using var mine = await Connect(GatewayFactory.ApiKey);
        await using var other = await Connect(GatewayFactory.OtherTenantKey);

        var listed = Json(await mine.CallToolAsync("list_knowledge_bases", new Dictionary<string, object?>())).GetProperty("knowledge_bases").EnumerateArray().ToList();
        var theirs = Json(await other.CallToolAsync("list_knowledge_bases", new Dictionary<string, object?>())).GetProperty("knowledge_bases").EnumerateArray();
        var rest = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/knowledge_bases", UriKind.Relative))).RootElement.GetProperty("data").EnumerateArray();

        var entry = Assert.Single(listed, kb => kb.GetProperty("id").GetString() == kept);
        Assert.Equal("Espresso machine manuals", entry.GetProperty("name").GetString());
        Assert.DoesNotContain(listed, kb => kb.GetProperty("id").GetString() == deleted);
        Assert.DoesNotContain(theirs, kb => kb.GetProperty("id").GetString() == kept);
        Assert.Equal(listed.Select(kb => kb.GetProperty("id").GetString()), rest.Select(kb => kb.GetProperty("id").GetString())); // the REST list is the same
    }

    [Fact]
    public async Task Each_tool_call_counts_against_the_keys_request_limit_and_appears_in_usage_and_the_audit_log()
    {
        using var admin = fixture.Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant();
        var (keyId, limited) = await tenants.CreateKey(tenant, "member", new { limits = new { requests_per_minute = 2 } });
        await using var client = await Connect(limited);

        var first = await client.CallToolAsync("list_knowledge_bases", new Dictionary<string, object?>());
        var second = await client.CallToolAsync("list_knowledge_bases", new Dictionary<string, object?>());
        var third = await client.CallToolAsync("list_knowledge_bases", new Dictionary<string, object?>());

        Assert.True(first.IsError is not true && second.IsError is not true, Text(second));
        Assert.True(third.IsError); // the model reads why
        Assert.Contains("rate limit", Text(third), StringComparison.OrdinalIgnoreCase);
        var usage = await tenants.Get($"/v1/usage?tenant={tenant}&group_by=key,model");
        var row = Assert.Single(usage.GetProperty("data").EnumerateArray());
        Assert.Equal((keyId, "mcp:list_knowledge_bases", 2L), (row.GetProperty("key_id").GetString(), row.GetProperty("model").GetString(), row.GetProperty("requests").GetInt64()));
        var audit = (await tenants.Get($"/v1/admin/audit?tenant={tenant}&action=MCP")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([200, 200, 429], audit.Select(r => r.GetProperty("status").GetInt32()));
        Assert.All(audit, r => Assert.Equal(("MCP tools/call", "list_knowledge_bases", keyId), (r.GetProperty("action").GetString(), r.GetProperty("target").GetString(), r.GetProperty("actor_key").GetString())));
    }

    private Task<McpClient> Connect(string key) => GatewayMcpClient.Connect(fixture.Gateway.BaseAddress, key);

    /// <summary>A conversation holding <paramref name="messages"/>, which recalls (so its items are indexed for search).</summary>
    private static async Task<string> CreateConversation(HttpClient http, params string[] messages)
    {
        var items = messages.Select(text => new { type = "message", role = "user", content = text });
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { items, context_policy = new { recall_top_k = 3 } })));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static string Text(CallToolResult result) => GatewayMcpClient.Text(result);

    private static JsonElement Json(CallToolResult result) => JsonDocument.Parse(Text(result)).RootElement;
}
