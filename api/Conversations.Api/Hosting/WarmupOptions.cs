namespace Conversations.Api.Hosting;

/// <summary>The warm-up before ready (<see cref="WarmupBeforeReady"/>), bound from <c>Conversations:Warmup</c>.</summary>
public sealed class WarmupOptions
{
    public const string Section = "Conversations:Warmup";

    /// <summary>Calls sent through this process's own HTTP pipeline before <c>/health</c> reports ready; 0 turns the warm-up off.</summary>
    public int Requests { get; init; }
}
