using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Prompts;

/// <summary>
/// The prompt library over real HTTP: a prompt created, versioned, labelled and rolled back through the admin API, and
/// rendered by <c>prompt</c> on <c>POST /v1/responses</c>, as the simulated upstream's recorded requests show.
/// </summary>
public sealed class PromptLibraryTests : UpstreamGatewayTest
{
    private const string Tenant = "other"; // GatewayFactory.OtherTenantKey is this tenant's admin

    [Fact]
    public async Task A_prompt_is_versioned_labelled_rolled_back_and_rendered_into_what_the_model_receives()
    {
        using var http = Gateway.Http(GatewayFactory.OtherTenantKey);
        var created = await http.PostJson($"/v1/admin/tenants/{Tenant}/prompts", """
            {"model":"remote","instructions":"You answer for {{company}}.","input":[{"role":"user","content":"Order {{order}} is late."}],
             "variables":{"company":"string","order":"string"}}
            """);
        var id = created.GetProperty("id").GetString()!;
        await http.PostJson($"/v1/admin/tenants/{Tenant}/prompts/{id}/versions", """
            {"model":"remote","instructions":"You are {{company}}'s agent. Be brief.","input":[{"role":"user","content":"Order {{order}} is late."}],
             "variables":{"company":"string","order":"string"}}
            """);

        var latest = await Render(http, id, version: null, "And where is it?");
        await Put(http, id, "production", 1);
        var production = await Render(http, id, version: null, "And where is it?");
        await Put(http, id, "production", 2); // roll forward, then back
        await Put(http, id, "production", 1);
        var rolledBack = await Render(http, id, version: null, "Again?");
        var byNumber = await Render(http, id, version: "2", "Numbered");
        await Put(http, id, "staging", 2);
        var byLabel = await Render(http, id, version: "staging", "Labelled");
        var prompt = await http.GetJson($"/v1/admin/tenants/{Tenant}/prompts/{id}");

        Assert.Equal("prompt", created.GetProperty("object").GetString());
        Assert.Equal("You are Acme's agent. Be brief.", latest[0]);
        Assert.Equal(["You answer for Acme.", "Order {{order}} & <b> is late.", "And where is it?"], production);
        Assert.Equal("You answer for Acme.", rolledBack[0]);
        Assert.Equal("You are Acme's agent. Be brief.", byNumber[0]);
        Assert.Equal("You are Acme's agent. Be brief.", byLabel[0]);
        Assert.Equal(2, prompt.GetProperty("versions").GetArrayLength());
        Assert.Equal(1, prompt.GetProperty("labels").GetProperty("production").GetInt32());
        Assert.Equal(2, prompt.GetProperty("labels").GetProperty("staging").GetInt32());
    }

    [Fact]
    public async Task Bad_prompt_references_are_refused_in_OpenAI_s_error_shape_naming_the_field()
    {
        using var http = Gateway.Http(GatewayFactory.OtherTenantKey);
        var id = (await http.PostJson($"/v1/admin/tenants/{Tenant}/prompts", """{"model":"remote","instructions":"For {{company}}.","variables":{"company":"string"}}"""))
            .GetProperty("id").GetString()!;

        using var missing = await Post(http, new { prompt = new { id, variables = new { } }, input = "hi" });
        using var extra = await Post(http, new { prompt = new { id, variables = new { company = "Acme", tone = "warm" } }, input = "hi" });
        using var image = await Post(http, new { prompt = new { id, variables = new { company = new { type = "input_image", image_url = "https://example.com/a.png" } } }, input = "hi" });
        using var unknown = await Post(http, new { prompt = new { id = "pmpt_unknown", variables = new { } }, input = "hi" });
        using var noVersion = await Post(http, new { prompt = new { id, version = "7", variables = new { company = "Acme" } }, input = "hi" });
        using var otherTenant = await Gateway.Http().PostAsync("/v1/responses", JsonHttp.Body(JsonSerializer.Serialize(new { prompt = new { id, variables = new { company = "Acme" } }, input = "hi" })));
        using var undeclared = await http.PostAsync($"/v1/admin/tenants/{Tenant}/prompts", JsonHttp.Body("""{"instructions":"For {{company}}."}"""));

        await missing.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.company");
        await extra.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.tone");
        await image.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.company");
        await unknown.AssertOpenAIError(HttpStatusCode.NotFound, "prompt.id");
        await noVersion.AssertOpenAIError(HttpStatusCode.NotFound, "prompt.version");
        await otherTenant.AssertOpenAIError(HttpStatusCode.NotFound, "prompt.id"); // another tenant's prompt does not exist for this key
        await undeclared.AssertOpenAIError(HttpStatusCode.BadRequest, "instructions");
    }

    [Fact]
    public async Task A_chat_completion_renders_a_prompt_in_front_of_its_messages()
    {
        using var http = Gateway.Http(GatewayFactory.OtherTenantKey);
        var id = (await http.PostJson($"/v1/admin/tenants/{Tenant}/prompts", """
            {"model":"remote","instructions":"You answer for {{company}}.","input":[{"role":"user","content":"Order {{order}} is late."}],
             "variables":{"company":"string","order":"string"}}
            """)).GetProperty("id").GetString()!;

        var completion = await http.PostJson("/v1/chat/completions", JsonSerializer.Serialize(new
        {
            prompt = new { id, variables = new { company = "Acme", order = "{{x}}" } },
            messages = new[] { new { role = "user", content = "Where is it?" } },
        }));
        var sent = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");
        using var missing = await http.PostAsync("/v1/chat/completions", JsonHttp.Body(JsonSerializer.Serialize(new
        {
            prompt = new { id, variables = new { company = "Acme" } },
            messages = new[] { new { role = "user", content = "hi" } },
        })));

        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal(["system", "user", "user"], sent.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(["You answer for Acme.", "Order {{x}} is late.", "Where is it?"], sent.EnumerateArray().Select(m => m.GetProperty("content").GetString()));
        await missing.AssertOpenAIError(HttpStatusCode.BadRequest, "prompt.variables.order");
    }

    /// <summary>Creates a response from the prompt and answers the texts of the messages the upstream received for it.</summary>
    private async Task<List<string>> Render(HttpClient http, string id, string? version, string input)
    {
        var variables = new { company = "Acme", order = "{{order}} & <b>" };
        var response = await http.PostJson("/v1/responses", JsonSerializer.Serialize(new { prompt = new { id, version, variables }, input }));
        Assert.Equal("completed", response.GetProperty("status").GetString());
        var sent = (await Upstream.ReceivedRequests())[^1];
        return [.. sent.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()!)];
    }

    private static async Task Put(HttpClient http, string id, string label, int version)
    {
        using var put = await http.PutAsync($"/v1/admin/tenants/{Tenant}/prompts/{id}/labels/{label}", JsonHttp.Body($$"""{"version":{{version}}}"""));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    private static Task<HttpResponseMessage> Post(HttpClient http, object body) =>
        http.PostAsync("/v1/responses", JsonHttp.Body(JsonSerializer.Serialize(body)));
}
