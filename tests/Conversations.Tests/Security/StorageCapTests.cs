using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// A tenant's stored data is capped (issue 17, finding 6): conversations, items per conversation, bytes per item, stored
/// bytes and distinct end users a day, each set by a platform admin. A request past a cap is refused in OpenAI's error
/// shape naming the cap (400 for one item too large, 429 for a count reached) and changes nothing.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StorageCapTests(GatewayFixture fixture)
{
    private readonly HttpClient _platformAdmin = fixture.Gateway.Http();

    [Fact]
    public async Task A_tenant_has_default_storage_caps_that_a_platform_admin_changes()
    {
        var tenant = TenantClient.NewTenantId();
        var created = await Admin("/v1/admin/tenants", new { id = tenant });
        var updated = await Admin($"/v1/admin/tenants/{tenant}", new { storage_limits = new { conversations = 5, stored_bytes = (long?)null } });
        var (_, tenantAdmin) = await new TenantClient(_platformAdmin).CreateKey(tenant, "tenant_admin");
        using var own = await fixture.Gateway.Http(tenantAdmin).PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"storage_limits":{"conversations":1000000}}"""));
        using var unknown = await _platformAdmin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"storage_limits":{"files":1}}"""));
        using var negative = await _platformAdmin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"storage_limits":{"item_bytes":-1}}"""));

        var defaults = created.GetProperty("storage_limits");
        Assert.Equal(100_000, defaults.GetProperty("conversations").GetInt64());
        Assert.Equal(10_000, defaults.GetProperty("items_per_conversation").GetInt32());
        Assert.Equal(1 << 20, defaults.GetProperty("item_bytes").GetInt32());
        Assert.Equal(10L << 30, defaults.GetProperty("stored_bytes").GetInt64());
        Assert.Equal(100_000, defaults.GetProperty("end_users_per_day").GetInt32());
        var set = (await Tenant(tenant)).GetProperty("storage_limits");
        Assert.Equal(updated.GetProperty("storage_limits").GetRawText(), set.GetRawText());
        Assert.Equal(5, set.GetProperty("conversations").GetInt64());
        Assert.Equal(JsonValueKind.Null, set.GetProperty("stored_bytes").ValueKind); // no cap
        Assert.Equal(10_000, set.GetProperty("items_per_conversation").GetInt32()); // left out: its default
        await own.AssertOpenAIError(HttpStatusCode.Forbidden);
        await unknown.AssertOpenAIError(HttpStatusCode.BadRequest, "storage_limits.files");
        await negative.AssertOpenAIError(HttpStatusCode.BadRequest, "storage_limits.item_bytes");
        Assert.Equal(5, (await Tenant(tenant)).GetProperty("storage_limits").GetProperty("conversations").GetInt64());
    }

    [Fact]
    public async Task Conversations_past_the_cap_are_a_429_and_none_is_created()
    {
        var (tenant, http) = await TenantWith(new { conversations = 3 });
        var made = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{}"))));
        var before = await Stored(tenant);

        using var refused = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("""{"items":[{"role":"user","content":"hello"}]}"""));

        Assert.Equal(3, made.Count(response => response.StatusCode == HttpStatusCode.OK)); // exact, with creates racing
        var error = await refused.AssertOpenAIError(HttpStatusCode.TooManyRequests);
        Assert.Equal("conversation_limit_reached", error.GetProperty("code").GetString());
        Assert.Equal((3, 0L), before);
        Assert.Equal(before, await Stored(tenant));

        var first = made.First(response => response.StatusCode == HttpStatusCode.OK);
        var id = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using (var deleted = await http.DeleteAsync($"/v1/conversations/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using var room = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{}"));
        Assert.Equal(HttpStatusCode.OK, room.StatusCode);
        Assert.Equal((3, 0L), await Stored(tenant));
        foreach (var response in made)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Items_past_the_cap_of_a_conversation_are_a_429_and_nothing_is_appended()
    {
        var (_, http) = await TenantWith(new { items_per_conversation = 3 });
        using var tooMany = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(Items(4)));
        var conversation = await Create(http, Items(2));

        using var twoMore = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json(Items(2)));
        var afterItems = await ItemCount(http, conversation);
        using var oneMore = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json(Items(1)));
        using var turn = await Turn(http, conversation, "one more turn");

        var error = await twoMore.AssertOpenAIError(HttpStatusCode.TooManyRequests, "items");
        Assert.Equal("item_limit_reached", error.GetProperty("code").GetString());
        Assert.Equal("item_limit_reached", (await tooMany.AssertOpenAIError(HttpStatusCode.TooManyRequests, "items")).GetProperty("code").GetString());
        Assert.Equal(2, afterItems);
        Assert.Equal(HttpStatusCode.OK, oneMore.StatusCode);
        Assert.Equal("item_limit_reached", (await turn.AssertOpenAIError(HttpStatusCode.TooManyRequests, "input")).GetProperty("code").GetString());
        Assert.Equal(3, await ItemCount(http, conversation));
    }

    [Fact]
    public async Task An_item_over_the_byte_cap_is_a_400_naming_it_and_nothing_is_appended()
    {
        var (tenant, http) = await TenantWith(new { item_bytes = 100 });
        var conversation = await Create(http, Items(1));
        var before = await Stored(tenant);
        var wide = new string('é', 51); // 51 characters, 102 bytes

        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(Items(new string('x', 101))));
        using var added = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json(Items("fits", wide)));
        using var turn = await Turn(http, conversation, new string('x', 101));
        using var turnItems = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new
        {
            model = "sim-small", conversation, input = new object[] { new { role = "user", content = "fits" }, new { role = "user", content = wide } },
        })));
        var after = (await Stored(tenant), await ItemCount(http, conversation));
        using var fits = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json(Items(new string('x', 100))));

        Assert.Equal("item_too_large", (await created.AssertOpenAIError(HttpStatusCode.BadRequest, "items[0]")).GetProperty("code").GetString());
        Assert.Equal("item_too_large", (await added.AssertOpenAIError(HttpStatusCode.BadRequest, "items[1]")).GetProperty("code").GetString());
        Assert.Equal("item_too_large", (await turn.AssertOpenAIError(HttpStatusCode.BadRequest, "input")).GetProperty("code").GetString());
        Assert.Equal("item_too_large", (await turnItems.AssertOpenAIError(HttpStatusCode.BadRequest, "input[1]")).GetProperty("code").GetString());
        Assert.Equal((before, 1), after);
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(2, await ItemCount(http, conversation));
    }

    [Fact]
    public async Task Stored_bytes_past_the_tenant_cap_are_a_429_and_nothing_is_appended()
    {
        var (tenant, http) = await TenantWith(new { stored_bytes = 1000 });
        var conversation = await Create(http, Items(new string('a', 600)));
        var before = await Stored(tenant);

        using var added = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json(Items(new string('b', 401))));
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(Items(new string('c', 401))));
        using var turn = await Turn(http, conversation, new string('d', 399)); // fits alone; not with the answer

        Assert.Equal("storage_limit_reached", (await added.AssertOpenAIError(HttpStatusCode.TooManyRequests, "items")).GetProperty("code").GetString());
        Assert.Equal("storage_limit_reached", (await created.AssertOpenAIError(HttpStatusCode.TooManyRequests, "items")).GetProperty("code").GetString());
        Assert.Equal("storage_limit_reached", (await turn.AssertOpenAIError(HttpStatusCode.TooManyRequests, "input")).GetProperty("code").GetString());
        Assert.Equal(1, await ItemCount(http, conversation));
        Assert.Equal((1, 600L), before);
        Assert.Equal(before, await Stored(tenant));

        var item = (await http.GetFromJsonAsync<JsonElement>($"/v1/conversations/{conversation}/items")).GetProperty("data")[0].GetProperty("id").GetString();
        using (var deleted = await http.DeleteAsync($"/v1/conversations/{conversation}/items/{item}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal((1, 0L), await Stored(tenant));
        using var fits = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json(Items(new string('e', 1000))));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        using (var deleted = await http.DeleteAsync($"/v1/conversations/{conversation}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal((0, 0L), await Stored(tenant));
    }

    [Fact]
    public async Task New_end_users_past_the_daily_cap_are_a_429_and_known_ones_still_pass()
    {
        var (tenant, http) = await TenantWith(new { end_users_per_day = 2 });
        var conversation = await Create(http, Items(1));
        using var alice = await Chat(http, user: "alice");
        using var bob = await Chat(http, header: "bob");

        using var carol = await Chat(http, user: "carol");
        using var carolTurn = await Turn(http, conversation, "hello", user: "carol");
        using var aliceAgain = await Chat(http, user: "alice");
        using var bobTurn = await Turn(http, conversation, "hello", user: "bob");

        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        var error = await carol.AssertOpenAIError(HttpStatusCode.TooManyRequests, "user");
        Assert.Equal("end_user_limit_reached", error.GetProperty("code").GetString());
        Assert.Equal("end_user_limit_reached", (await carolTurn.AssertOpenAIError(HttpStatusCode.TooManyRequests, "user")).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, aliceAgain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bobTurn.StatusCode);
        Assert.Equal(3, await ItemCount(http, conversation)); // bob's turn only
        var usage = await _platformAdmin.GetFromJsonAsync<JsonElement>($"/v1/usage?tenant={tenant}&group_by=user");
        Assert.Equal(["alice", "bob"], usage.GetProperty("data").EnumerateArray().Select(row => row.GetProperty("user").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_end_user_id_longer_than_256_characters_is_a_400_naming_the_field()
    {
        var (_, http) = await TenantWith(new { });
        var conversation = await Create(http, Items(1));
        var longest = new string('u', 256);
        var tooLong = longest + "u";

        using var body = await Chat(http, user: tooLong);
        using var header = await Chat(http, header: tooLong);
        using var turn = await Turn(http, conversation, "hello", user: tooLong);
        using var embeddings = await http.PostAsync("/v1/embeddings", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "local-embeddings", input = "hi", user = tooLong })));
        using var fits = await Chat(http, user: longest);

        Assert.Equal("string_above_max_length", (await body.AssertOpenAIError(HttpStatusCode.BadRequest, "user")).GetProperty("code").GetString());
        Assert.Equal("string_above_max_length", (await header.AssertOpenAIError(HttpStatusCode.BadRequest, "x-conversations-user")).GetProperty("code").GetString());
        Assert.Equal("string_above_max_length", (await turn.AssertOpenAIError(HttpStatusCode.BadRequest, "user")).GetProperty("code").GetString());
        Assert.Equal("string_above_max_length", (await embeddings.AssertOpenAIError(HttpStatusCode.BadRequest, "user")).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(1, await ItemCount(http, conversation));
    }

    /// <summary>A tenant with the given storage caps (set by the platform admin; the rest default) and a member key's client.</summary>
    private async Task<(string Tenant, HttpClient Http)> TenantWith(object storageLimits)
    {
        var tenant = TenantClient.NewTenantId();
        await Admin("/v1/admin/tenants", new { id = tenant, storage_limits = storageLimits });
        var (_, secret) = await new TenantClient(_platformAdmin).CreateKey(tenant);
        return (tenant, fixture.Gateway.Http(secret));
    }

    private async Task<JsonElement> Admin(string path, object body)
    {
        using var response = await _platformAdmin.PostAsync(path, ChatCompletionsTests.Json(JsonSerializer.Serialize(body)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private Task<JsonElement> Tenant(string tenant) => _platformAdmin.GetFromJsonAsync<JsonElement>($"/v1/admin/tenants/{tenant}");

    /// <summary>The tenant's conversations and stored bytes, as its admin reads them.</summary>
    private async Task<(long Conversations, long Bytes)> Stored(string tenant)
    {
        var stored = (await Tenant(tenant)).GetProperty("stored");
        return (stored.GetProperty("conversations").GetInt64(), stored.GetProperty("bytes").GetInt64());
    }

    private static async Task<string> Create(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<int> ItemCount(HttpClient http, string conversation) =>
        (await http.GetFromJsonAsync<JsonElement>($"/v1/conversations/{conversation}/items?limit=100")).GetProperty("data").GetArrayLength();

    private static string Items(int count) => Items([.. Enumerable.Range(1, count).Select(i => $"item {i}")]);

    private static string Items(params string[] texts) =>
        JsonSerializer.Serialize(new { items = texts.Select(text => new { role = "user", content = text }) });

    private static Task<HttpResponseMessage> Turn(HttpClient http, string conversation, string input, string? user = null) =>
        http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "sim-small", conversation, input, user })));

    private static Task<HttpResponseMessage> Chat(HttpClient http, string? user = null, string? header = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "sim-small", user, messages = new[] { new { role = "user", content = "hi" } } })),
        };
        if (header is not null)
        {
            request.Headers.Add("x-conversations-user", header);
        }

        return http.SendAsync(request);
    }
}
