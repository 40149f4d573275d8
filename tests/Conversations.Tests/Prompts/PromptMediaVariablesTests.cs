using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Media;

namespace Conversations.Tests.Prompts;

/// <summary>
/// Prompt variables whose value is an <c>input_image</c> or <c>input_file</c> part: placed as parts of the message whose template names
/// them, as the simulated upstream's recorded request shows, and never read as template syntax; a wrong type is a 400 naming the variable.
/// </summary>
public sealed class PromptMediaVariablesTests : UpstreamGatewayTest
{
    private const string Tenant = "other"; // GatewayFactory.OtherTenantKey is this tenant's admin

    [Fact]
    public async Task An_image_variable_becomes_an_image_part_of_the_message_that_names_it_and_text_values_stay_text()
    {
        using var http = Gateway.Http(GatewayFactory.OtherTenantKey);
        var id = await Create(http, """{"model":"remote","input":[{"role":"user","content":"Look at {{photo}} and say {{word}}."}],"variables":{"photo":"image","word":"string"}}""");
        var image = MediaFixture.DataUrl(MediaFixture.Pixel);

        var response = await http.PostJson("/v1/responses", JsonSerializer.Serialize(new
        {
            prompt = new { id, variables = new { photo = new { type = "input_image", image_url = image }, word = "{{photo}}" } },
            input = "Go.",
        }));
        var sent = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");
        var parts = sent[0].GetProperty("content").EnumerateArray().ToList();
        var stored = await http.GetJson($"/v1/responses/{response.GetProperty("id").GetString()}/input_items?order=asc");

        Assert.Equal("completed", response.GetProperty("status").GetString());
        // A message keeps its text and its media apart (as every message here does): the text parts joined, then the image.
        Assert.Equal(["text", "image_url"], parts.Select(p => p.GetProperty("type").GetString()));
        Assert.StartsWith("Look at ", parts[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.EndsWith(" and say {{photo}}.", parts[0].GetProperty("text").GetString(), StringComparison.Ordinal); // a text value naming the variable is not rendered again
        Assert.DoesNotContain("\u27e6", parts[0].GetProperty("text").GetString(), StringComparison.Ordinal); // no marker left behind
        Assert.Equal(image, parts[1].GetProperty("image_url").GetProperty("url").GetString());
        Assert.Equal("Go.", sent[1].GetProperty("content").GetString());
        Assert.Equal(["input_text", "input_image"],
            stored.GetProperty("data")[0].GetProperty("content").EnumerateArray().Select(p => p.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task A_media_variable_of_a_wrong_type_or_shape_or_in_the_instructions_is_a_400_naming_it_and_nothing_is_called()
    {
        using var http = Gateway.Http(GatewayFactory.OtherTenantKey);
        var inInput = await Create(http, """{"model":"remote","input":[{"role":"user","content":"Read {{doc}}."}],"variables":{"doc":"file"}}""");
        var inInstructions = await Create(http, """{"model":"remote","instructions":"Read {{doc}}.","variables":{"doc":"file"}}""");
        var before = (await Upstream.ReceivedRequests()).Count;

        using var audio = await Post(http, inInput, new { type = "input_audio", input_audio = new { data = "AAAA", format = "wav" } });
        using var number = await Post(http, inInput, 42);
        using var noSource = await Post(http, inInput, new { type = "input_file", filename = "a.pdf" });
        using var instructions = await Post(http, inInstructions, new { type = "input_file", file_data = MediaFixture.DataUrl(MediaFixture.Pdf, "application/pdf"), filename = "a.pdf" });

        await audio.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await number.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await noSource.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await instructions.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        Assert.Equal(before, (await Upstream.ReceivedRequests()).Count);
    }

    [Fact]
    public async Task A_variable_takes_only_the_kind_its_prompt_declares_and_the_admin_api_shows_and_checks_the_types()
    {
        using var http = Gateway.Http(GatewayFactory.OtherTenantKey);
        var id = await Create(http, """{"model":"remote","input":[{"role":"user","content":"See {{doc}}."}],"variables":{"doc":"image"}}""");
        var text = await Create(http, """{"model":"remote","input":[{"role":"user","content":"See {{doc}}."}],"variables":{"doc":"string"}}""");
        var image = new { type = "input_image", image_url = MediaFixture.DataUrl(MediaFixture.Pixel) };
        var before = (await Upstream.ReceivedRequests()).Count;

        using var aString = await Post(http, id, "a photo");
        using var aFile = await Post(http, id, new { type = "input_file", file_data = MediaFixture.DataUrl(MediaFixture.Pdf, "application/pdf"), filename = "a.pdf" });
        using var imageForText = await Post(http, text, image);
        using var chat = await http.PostAsync("/v1/chat/completions", JsonHttp.Body(JsonSerializer.Serialize(new { prompt = new { id, variables = new { doc = "a photo" } }, messages = new[] { new { role = "user", content = "hi" } } })));
        using var unknownType = await http.PostAsync($"/v1/admin/tenants/{Tenant}/prompts", JsonHttp.Body("""{"model":"remote","instructions":"{{clip}}","variables":{"clip":"audio"}}"""));
        var view = await http.GetJson($"/v1/admin/tenants/{Tenant}/prompts/{id}");

        await aString.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await aFile.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await imageForText.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await chat.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.doc");
        await unknownType.AssertOpenAIError(HttpStatusCode.BadRequest, "variables.clip");
        Assert.Equal(before, (await Upstream.ReceivedRequests()).Count);
        Assert.Equal("image", view.GetProperty("versions")[0].GetProperty("variables").GetProperty("doc").GetString());
    }

    private static async Task<string> Create(HttpClient http, string body) =>
        (await http.PostJson($"/v1/admin/tenants/{Tenant}/prompts", body)).GetProperty("id").GetString()!;

    private static Task<HttpResponseMessage> Post(HttpClient http, string id, object doc) =>
        http.PostAsync("/v1/responses", JsonHttp.Body(JsonSerializer.Serialize(new { prompt = new { id, variables = new { doc } }, input = "hi" })));
}
