using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Conversations.SimulatedUpstream;

/// <summary>The last request bodies this server received, whatever their wire format, for <c>GET /sim/requests</c>.</summary>
internal sealed class RecordedRequests
{
    private const int Kept = 256;

    private readonly ConcurrentQueue<JsonNode> _requests = new();

    public void Add(JsonNode request)
    {
        _requests.Enqueue(request.DeepClone());
        while (_requests.Count > Kept && _requests.TryDequeue(out _))
        {
        }
    }

    /// <summary>The requests kept, oldest first; with <paramref name="last"/>, only that many of the newest.</summary>
    public JsonArray Snapshot(int? last = null) => new([.. _requests.TakeLast(last ?? Kept).Select(r => r.DeepClone())]);
}
