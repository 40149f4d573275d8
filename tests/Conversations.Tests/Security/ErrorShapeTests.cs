using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// Requests that are wrong in their form, not their content, get the right status in OpenAI's error shape
/// (issue 17, finding 8): a content type other than JSON 415 (a body with none is read as JSON), a wrong method 405, an unparsable query value a 400 naming it.
/// A body that is optional may be left out.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ErrorShapeTests(GatewayFixture fixture)
{
    [Theory]
    [InlineData("/v1/chat/completions", "text/plain")]
    [InlineData("/v1/responses", "application/x-www-form-urlencoded")]
    [InlineData("/v1/embeddings", "multipart/form-data")]
    [InlineData("/v1/conversations", "text/plain")]
    public async Task A_body_sent_as_another_type_than_JSON_is_a_415(string path, string contentType)
    {
        using var http = fixture.Gateway.Http();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"model":"sim-small","input":"hi","messages":[]}"""));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        using var response = await http.PostAsync(path, content);

        var error = await response.AssertOpenAIError(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("unsupported_media_type", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("DELETE", "/v1/chat/completions")]
    [InlineData("PUT", "/v1/responses")]
    [InlineData("PATCH", "/v1/conversations")]
    public async Task A_wrong_method_on_a_known_path_is_a_405(string method, string path)
    {
        using var http = fixture.Gateway.Http();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        var error = await response.AssertOpenAIError(HttpStatusCode.MethodNotAllowed);
        Assert.Equal("method_not_allowed", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_unknown_path_is_still_a_404()
    {
        using var http = fixture.Gateway.Http();

        using var response = await http.GetAsync("/v1/no/such/thing");

        var error = await response.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.Equal("unknown_url", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("99999999999999")]
    public async Task An_unparsable_limit_is_a_400_naming_it(string limit)
    {
        using var http = fixture.Gateway.Http();
        var conversation = await Hosting.HttpConversation.CreateAsync(http);

        using var response = await http.GetAsync($"/v1/conversations/{conversation.Id}/items?limit={limit}");

        var error = await response.AssertOpenAIError(HttpStatusCode.BadRequest);
        Assert.Equal("limit", error.GetProperty("param").GetString());
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Optional_bodies_may_be_left_out_entirely()
    {
        var admin = new TenantClient(fixture.Gateway.Http());
        var tenant = await admin.CreateTenant();
        var (keyId, _) = await admin.CreateKey(tenant);
        using var http = fixture.Gateway.Http();

        using var conversation = await http.PostAsync("/v1/conversations", content: null);
        using var rotated = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{keyId}/rotate", content: null);

        Assert.Equal(HttpStatusCode.OK, conversation.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
    }
}
