namespace Conversations.Api.Errors;

/// <summary>The body of every error this API returns: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAIErrorBody(OpenAIError Error);

public sealed record OpenAIError(string Message, string Type, string? Param, string? Code);
