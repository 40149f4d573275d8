using System.Net;
using System.Text.Json;

namespace Conversations.Tests.Infrastructure;

public static class ErrorAssertions
{
    /// <summary>Asserts the status and OpenAI's error shape: message, type, param and code all present.</summary>
    public static async Task<JsonElement> AssertOpenAIError(this HttpResponseMessage response, HttpStatusCode status, string? param = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
        Assert.True(error.TryGetProperty("param", out var actualParam));
        Assert.True(error.TryGetProperty("code", out _));
        if (param is not null)
        {
            Assert.Equal(param, actualParam.GetString());
        }

        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // never a stack trace
        return error;
    }
}
