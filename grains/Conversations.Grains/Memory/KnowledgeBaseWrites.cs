using Conversations.Memory;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>
/// How a knowledge base activation changes its state: one writer at a time (<see cref="Enter"/>: an upload, a delete, or an
/// ingestion batch, which runs on an interleaving timer), each write under the storage rule. <see cref="Durable"/> is what
/// storage holds, for the reads that interleave with a write.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never read holds no unmanaged resource.")]
internal sealed class KnowledgeBaseWrites(
    IPersistentState<KnowledgeBaseState> state, IPersistentState<PendingDocumentTexts> pending, IGrainBase grain, ILogger logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The state as a writer inside <see cref="Enter"/> works from.</summary>
    public KnowledgeBaseState State => state.State;

    /// <summary>The state as last stored.</summary>
    public KnowledgeBaseState Durable { get; private set; } = state.State;

    /// <summary>The texts of the documents being ingested, as stored.</summary>
    public IReadOnlyDictionary<string, string> Texts => pending.State.Texts;

    public ValueTask<Gate> Enter(CancellationToken cancellationToken) => Gate.Enter(_gate, cancellationToken);

    /// <summary>Writes <paramref name="next"/> (inside <see cref="Enter"/>); null, or why it was not written.</summary>
    public async Task<GatewayError?> Write(KnowledgeBaseState next)
    {
        var failed = await state.TryReplace(next, grain, logger);
        Durable = state.State;
        return failed;
    }

    /// <summary>Stores a document's text until its ingestion ends (inside <see cref="Enter"/>).</summary>
    public Task<GatewayError?> KeepText(string documentId, string text) =>
        pending.TryReplace(new PendingDocumentTexts { Texts = new(pending.State.Texts, StringComparer.Ordinal) { [documentId] = text } }, grain, logger);

    /// <summary>
    /// Drops the texts of documents no longer being ingested (inside <see cref="Enter"/>). A failure is logged by the rule
    /// and only leaves text behind, which the next activation's ingestion drops.
    /// </summary>
    public async Task DropTextsOfEndedJobs()
    {
        var kept = pending.State.Texts.Where(t => state.State.Find(t.Key)?.Info.Status == DocumentStatus.Processing).ToDictionary(StringComparer.Ordinal);
        if (kept.Count < pending.State.Texts.Count)
        {
            await (kept.Count == 0 ? pending.TryClear(grain, logger) : pending.TryReplace(new PendingDocumentTexts { Texts = kept }, grain, logger));
        }
    }

    /// <summary>
    /// Removes the knowledge base (inside <see cref="Enter"/>): the texts it was ingesting, then its metadata, so that a delete
    /// cut short between the two is retried on a knowledge base that still exists.
    /// </summary>
    public async Task<GatewayError?> Clear()
    {
        var failed = await pending.TryClear(grain, logger) ?? await state.TryClear(grain, logger);
        Durable = state.State;
        return failed;
    }
}
