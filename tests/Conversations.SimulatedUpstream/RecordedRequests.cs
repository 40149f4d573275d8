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

    public JsonArray Snapshot() => new([.. _requests.Select(r => r.DeepClone())]);
}
