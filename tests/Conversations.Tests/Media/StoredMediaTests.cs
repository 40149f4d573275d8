using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Media;

/// <summary>
/// How stored images and files count: against the tenant's stored-bytes cap once per distinct content, and in a
/// conversation's context, which leaves an image out with a reason when the budget or a text-only deployment says so.
/// </summary>
[Collection(MediaCollection.Name)]
public sealed class StoredMediaTests(MediaFixture fixture)
{
    private readonly HttpClient _platformAdmin = fixture.Gateway.Http();

    [Fact]
    public async Task Uploads_count_against_the_tenants_stored_bytes_once_per_content_and_past_the_cap_are_a_429()
    {
        var (tenant, http) = await TenantWith(new { stored_bytes = 150 });

        var first = await Upload(http, MediaFixture.Pixel, "a.png");
        var same = await Upload(http, MediaFixture.Pixel, "b.png"); // the same bytes are stored once
        var afterTwo = await StoredBytes(tenant);
        using var tooMuch = await http.PostAsync("/v1/files", MediaFixture.Form(MediaFixture.Pdf, "big.pdf", "user_data"));

        Assert.Equal(MediaFixture.Pixel.Length, afterTwo);
        Assert.Equal("storage_limit_reached", (await tooMuch.AssertOpenAIError(HttpStatusCode.TooManyRequests, "file")).GetProperty("code").GetString());
        Assert.Equal(2, JsonDocument.Parse(await http.GetStringAsync("/v1/files")).RootElement.GetProperty("data").GetArrayLength());

        using (await http.DeleteAsync($"/v1/files/{first}"))
        {
            Assert.Equal(MediaFixture.Pixel.Length, await StoredBytes(tenant)); // still held by the other file
        }

        using (await http.DeleteAsync($"/v1/files/{same}"))
        {
            Assert.Equal(0, await StoredBytes(tenant));
        }
    }

    [Fact]
    public async Task A_conversation_keeps_an_uploaded_files_bytes_after_the_file_is_deleted_and_releases_them_when_deleted()
    {
        var (tenant, http) = await TenantWith(new { stored_bytes = 10_000 });
        var file = await Upload(http, MediaFixture.Pixel, "kept.png");
        var conversation = await CreateConversation(http, null, new { type = "input_image", file_id = file });

        var text = "look at this".Length; // the item's text counts as before
        using (await http.DeleteAsync($"/v1/files/{file}"))
        {
            Assert.Equal(MediaFixture.Pixel.Length + text, await StoredBytes(tenant));
        }

        var marker = "m-" + Guid.NewGuid().ToString("N")[..10];
        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "vision", conversation, input = marker })));
        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        var sent = (await fixture.Upstream.ReceivedRequests()).Single(r => r.GetRawText().Contains(marker, StringComparison.Ordinal));
        Assert.Contains(MediaFixture.DataUrl(MediaFixture.Pixel), sent.GetRawText(), StringComparison.Ordinal);

        using (await http.DeleteAsync($"/v1/conversations/{conversation}"))
        {
            Assert.Equal(0, await StoredBytes(tenant));
        }
    }

    [Fact]
    public async Task An_image_a_deployment_of_the_route_cannot_take_is_left_out_of_the_context_with_a_reason()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await CreateConversation(http, null, new { type = "input_image", image_url = MediaFixture.DataUrl(MediaFixture.Pixel) });
        var item = await FirstItem(http, conversation);

        var mixed = await Context(http, conversation, "mixed");
        var vision = await Context(http, conversation, "vision");

        Assert.Equal([($"{item}#0", "input_modality")], LeftOut(mixed));
        Assert.Empty(LeftOut(vision));
        Assert.True(vision.GetProperty("total_tokens").GetInt32() > mixed.GetProperty("total_tokens").GetInt32()); // the image's tokens count where it is sent
    }

    [Fact]
    public async Task An_image_that_does_not_fit_the_budget_is_left_out_with_its_item_and_the_later_text_kept()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await CreateConversation(http, new { max_tokens = 1000 }, new { type = "input_image", image_url = MediaFixture.DataUrl(MediaFixture.PngOfSize(2000, 2000)) });
        var image = await FirstItem(http, conversation);
        using (var added = await http.PostAsync($"/v1/conversations/{conversation}/items", ChatCompletionsTests.Json("""{"items":[{"type":"message","role":"user","content":"and a question"}]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var later = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation}/items?order=desc")).RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;

        var view = await Context(http, conversation, "vision");

        Assert.Equal([(image, "token_budget")], LeftOut(view));
        Assert.Contains(later, view.GetProperty("sections").EnumerateArray().SelectMany(s => s.GetProperty("item_ids").EnumerateArray().Select(i => i.GetString())));
    }

    private async Task<(string Tenant, HttpClient Http)> TenantWith(object storageLimits)
    {
        var tenant = TenantClient.NewTenantId();
        using (var created = await _platformAdmin.PostAsync("/v1/admin/tenants", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { id = tenant, storage_limits = storageLimits }))))
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        var (_, secret) = await new TenantClient(_platformAdmin).CreateKey(tenant);
        return (tenant, fixture.Gateway.Http(secret));
    }

    private async Task<long> StoredBytes(string tenant) =>
        (await _platformAdmin.GetFromJsonAsync<JsonElement>($"/v1/admin/tenants/{tenant}")).GetProperty("stored").GetProperty("bytes").GetInt64();

    private static async Task<string> Upload(HttpClient http, byte[] data, string filename)
    {
        using var response = await http.PostAsync("/v1/files", MediaFixture.Form(data, filename, "vision"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> CreateConversation(HttpClient http, object? policy, object part)
    {
        using var response = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(JsonSerializer.Serialize(new
        {
            context_policy = policy,
            items = new[] { new { type = "message", role = "user", content = new object[] { new { type = "input_text", text = "look at this" }, part } } },
        })));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> FirstItem(HttpClient http, string conversation) =>
        JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation}/items?order=asc")).RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;

    private static async Task<JsonElement> Context(HttpClient http, string conversation, string model) =>
        JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation}/context?model={model}")).RootElement;

    private static List<(string, string)> LeftOut(JsonElement view) =>
        [.. view.GetProperty("left_out").EnumerateArray().Select(l => (l.GetProperty("id").GetString()!, l.GetProperty("reason").GetString()!))];
}
