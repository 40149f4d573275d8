namespace Conversations.Providers;

/// <summary>What model-call spans may carry, bound from <c>Conversations:Telemetry</c>.</summary>
public sealed class ProviderTelemetryOptions
{
    public const string Section = "Conversations:Telemetry";

    /// <summary>
    /// Put prompts and answers on model-call spans (<c>gen_ai.input.messages</c>, <c>gen_ai.output.messages</c>).
    /// Off: a span then names the model, the provider, token counts and finish reasons, never the text.
    /// </summary>
    public bool CaptureMessageContent { get; init; }
}
