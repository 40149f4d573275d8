using System.Text.Json.Serialization;

namespace Conversations.Api.Errors;

/// <summary>The body of every error this API returns: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAIErrorBody(OpenAIError Error);

/// <remarks><c>param</c> and <c>code</c> are written even when null, as OpenAI does.</remarks>
public sealed record OpenAIError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
