using System.Runtime.CompilerServices;
using Conversations.Audit;
using Conversations.Grains.Audit;
using Conversations.Tenancy;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// The first stage of a call's path and the last on the way out: it sees what every other stage did (the route, the
/// cache, the guardrails, the usage and cost) and leaves one audit record per call with a caller, whether it was answered,
/// refused or abandoned. The record names what the guardrails found and did; the prompt and answer text only when the tenant
/// opted in, redacted (<see cref="CallText"/>), never in a log or trace; it is queued for the
/// silo's <see cref="CallAuditLog"/> (journaled locally before the final or error chunk goes on), so the answer never waits
/// for a storage write (decisions 0045, 0050).
/// </summary>
public sealed class AuditStage(CallAuditLog log, TimeProvider clock) : ICallStage
{
    /// <summary>The status of a call the client left before it ended (nginx's "client closed request").</summary>
    public const int Abandoned = 499;

    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) =>
        call.Request.Caller is { } caller ? Audited(call, caller, next, cancellationToken) : next(call, cancellationToken);

    private async IAsyncEnumerable<CompletionChunk> Audited(ModelCall call, Caller caller, CallStep next, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var info = CallInfo.None;
        CompletionResult? result = null;
        GatewayError? error = null;
        var recorded = false;
        try
        {
            await foreach (var chunk in next(call, cancellationToken))
            {
                info = chunk.Info is { } more ? info.Merge(more) : info;
                (result, error) = chunk switch
                {
                    FinalChunk final => (final.Result, error),
                    ErrorChunk failed => (result, failed.Error),
                    _ => (result, error),
                };
                if (chunk is FinalChunk or ErrorChunk && !recorded)
                {
                    // Journaled before the answer's end leaves the silo (decision 0045): an answered call has its record.
                    log.Add(Record(call.Request, caller, info, result, error, (long)clock.GetElapsedTime(started).TotalMilliseconds));
                    recorded = true;
                }

                yield return chunk;
            }
        }
        finally
        {
            if (!recorded)
            {
                log.Add(Record(call.Request, caller, info, result, error, (long)clock.GetElapsedTime(started).TotalMilliseconds));
            }
        }
    }

    private AuditRecord Record(CompletionRequest request, Caller caller, CallInfo info, CompletionResult? result, GatewayError? error, long latencyMs)
    {
        var status = result is not null ? 200 : error?.Status ?? Abandoned;
        var details = new CallDetails(
            request.Model, info.Route?.Deployment, request.EndUser, result?.Usage.InputTokens ?? 0, result?.Usage.OutputTokens ?? 0, result?.CostUsd ?? 0,
            latencyMs, info.Cache is { } cache ? cache.ToString().ToLowerInvariant() : null, result is not null ? null : error?.Code ?? error?.Type ?? "abandoned",
            info.Guardrails?.Findings, request.Conversation);
        if (caller.AuditCallText)
        {
            var (prompt, answer) = CallText.Of(request.Messages, result, caller.Guardrails?.Pii);
            details = details with { Prompt = prompt, Answer = answer };
        }

        return new AuditRecord(
            Ids.New("audit"), clock.GetUtcNow(), caller.Tenant, caller.KeyId, caller.Tenant, RoleNames.Name(caller.Role), null,
            AuditRecord.CallAction, request.Model, status, null, null, details);
    }
}
