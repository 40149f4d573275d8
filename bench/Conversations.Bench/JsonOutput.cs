using System.Text.Json;

namespace Conversations.Bench;

public static class JsonOutput
{
    public static JsonSerializerOptions Options { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, IncludeFields = true };
}
