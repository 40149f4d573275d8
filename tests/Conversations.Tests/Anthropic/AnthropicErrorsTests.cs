using Conversations.Api.Errors;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Anthropic;

/// <summary>The gateway's errors in Anthropic's statuses and types (the HTTP tests see them through the SDK).</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class AnthropicErrorsTests
{
    [Theory]
    [InlineData(400, 400, "invalid_request_error")]
    [InlineData(401, 401, "authentication_error")]
    [InlineData(403, 403, "permission_error")]
    [InlineData(404, 404, "not_found_error")]
    [InlineData(409, 409, "invalid_request_error")]
    [InlineData(413, 413, "request_too_large")]
    [InlineData(422, 422, "invalid_request_error")]
    [InlineData(429, 429, "rate_limit_error")]
    [InlineData(500, 500, "api_error")]
    [InlineData(502, 502, "api_error")]
    [InlineData(503, 529, "overloaded_error")]
    [InlineData(504, 504, "timeout_error")]
    public void A_gateway_error_takes_anthropics_status_and_type(int gatewayStatus, int status, string type)
    {
        var body = AnthropicErrors.Body(new GatewayError(gatewayStatus, "server_error", "some_code", "what went wrong"));

        Assert.Equal(status, AnthropicErrors.Status(new GatewayError(gatewayStatus, "x", null, "m")));
        Assert.Equal("error", body.Type);
        Assert.Equal(type, body.Error.Type);
        Assert.Equal("what went wrong", body.Error.Message);
    }

    [Fact]
    public void Cluster_unavailability_is_overloaded_where_openai_clients_get_503()
    {
        Assert.Equal(503, GatewayError.StorageUnavailable.Status);
        Assert.Equal(529, AnthropicErrors.Status(GatewayError.StorageUnavailable));
        Assert.Equal("overloaded_error", AnthropicErrors.Body(GatewayError.StorageUnavailable).Error.Type);
    }
}
