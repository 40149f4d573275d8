using Conversations.Routing;

namespace Conversations.Api;

public sealed record ModelJson(string Id, long Created, string OwnedBy)
{
    /// <summary>Models have no creation time of their own; report a fixed one, as other gateways do.</summary>
    private static readonly long Epoch = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    public string Object => "model";

    public static ModelJson From(ModelDescription model) => new(model.Id, Epoch, model.OwnedBy);
}
