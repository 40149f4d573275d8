using Conversations.Providers;
using Conversations.Routing;
using Conversations.Tenancy;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Routing;

/// <summary>
/// <c>POST /v1/embeddings</c> inside a silo: plan the alias's route, admit the input's tokens against the
/// tenant's quotas, embed with retries and fallback (the same Polly strategy and rules as chat), and
/// settle what was used at the serving deployment's price.
/// </summary>
public sealed class EmbeddingPipeline(
    ProviderClients clients, IEmbeddingGenerator<string, Embedding<float>> local, RoutePlanner routes, SteadyRoutes steady, TokenCounter tokens,
    IGrainFactory grains, ILogger<EmbeddingPipeline> logger)
{
    private readonly RouteRetries<Attempt> _retries = new();

    public async Task<EmbeddingOutcome> Run(EmbeddingRequest request)
    {
        if (request.Caller?.MayUseModel(request.Model) == false)
        {
            return new(null, GatewayError.ModelNotFound(request.Model));
        }

        var caller = request.Caller;
        var (route, planned) = await routes.Plan(caller?.Tenant, request.Model, new PlanRequest(request.EndUser, 0, 0, Streaming: false));
        if (!planned.IsSuccess || planned.Value.Deployments.All(d => !d.ServesEmbeddings))
        {
            return new(null, planned.Error ?? GatewayError.Invalid($"The model '{request.Model}' does not serve embeddings.", "model", "model_not_supported"));
        }

        var plan = planned.Value.Deployments.All(d => d.ServesEmbeddings)
            ? planned.Value
            : planned.Value with { Deployments = [.. planned.Value.Deployments.Where(d => d.ServesEmbeddings)] };
        var prompt = request.Inputs.Sum(tokens.Count);
        var quota = caller is null ? null : grains.Reference<ITenantQuotaGrain>(caller.Tenant);
        var leaseId = Ids.Opaque();
        var admitted = caller?.NeedsAdmission(request.EndUser) == true
            ? await quota!.Admit(new AdmissionRequest(leaseId, caller, request.EndUser, prompt, plan.Deployments.Max(d => d.Prices.Cost(prompt, 0))))
            : new Admission(null, null);
        if (!admitted.IsSuccess)
        {
            return new(null, admitted.Error);
        }

        var cursor = new AttemptCursor(plan);
        using var total = new CancellationTokenSource(plan.Config.Timeouts.Total);
        Attempt attempt;
        try
        {
            attempt = await _retries.Execute(plan.Config.Retry, cursor, () => Try(cursor, plan, route, request, prompt, total.Token), total.Token);
        }
        catch (OperationCanceledException)
        {
            attempt = new Attempt(Failure: ProviderFailures.Classify(new TimeoutException(), plan.Config, false, totalTimedOut: true));
        }

        var served = new ServedBy(cursor.LastTried.Name, cursor.Attempts, plan.Version);
        var used = attempt.Result is { } result ? result.PromptTokens : 0;
        var cost = cursor.LastTried.Prices.Cost(used, 0);
        if (caller is not null)
        {
            await quota!.Settle(leaseId, caller, request.EndUser, request.Model, new TokenUsage(used, 0), cost);
        }

        return attempt.Result is { } done
            ? new(done with { CostUsd = cost }, null, served, admitted.Value)
            : new(null, attempt.Failure!.Error, served, admitted.Value);
    }

    private async ValueTask<Attempt> Try(
        AttemptCursor cursor, RoutePlan plan, IModelRouteGrain route, EmbeddingRequest request, int counted, CancellationToken cancellationToken)
    {
        cursor.Begin();
        var deployment = cursor.Deployment;
        try
        {
            if (deployment.Provider == ProviderKind.LocalEmbeddings && request.Dimensions is { } dimensions && dimensions != Embeddings.LocalEmbeddingGenerator.Dimensions)
            {
                return new Attempt(Failure: new AttemptFailure(
                    GatewayError.Invalid($"'dimensions' must be {Embeddings.LocalEmbeddingGenerator.Dimensions} for this model.", "dimensions", "invalid_value"),
                    FailureKind.Final, AttemptOutcome.Rejected));
            }

            var generator = deployment.Provider == ProviderKind.LocalEmbeddings ? local : clients.EmbeddingsFor(deployment);
            var embeddings = await generator.GenerateAsync(request.Inputs, new EmbeddingGenerationOptions { Dimensions = request.Dimensions }, cancellationToken);
            _ = route.ReportSuccess(new AttemptReport(deployment.Name, AttemptOutcome.Succeeded));
            await Task.Yield(); // the vectors are copied off the socket thread the answer completed on
            var used = (int?)embeddings.Usage?.InputTokenCount ?? counted;
            return new Attempt(Result: new EmbeddingResult([.. embeddings.Select(e => e.Vector.ToArray())], used, plan.Alias, 0));
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var failure = ProviderFailures.Classify(exception, plan.Config, firstTokenTimedOut: false, totalTimedOut: false);
            ProviderFailures.Log(logger, deployment.Name, exception.GetType().Name, failure.UpstreamStatus, failure.Error.Status);
            await steady.Report(route, new AttemptReport(deployment.Name, failure.ReportAs, RetryAfter: failure.RetryAfter));
            return new Attempt(Failure: failure);
        }
    }

    private sealed record Attempt(AttemptFailure? Failure = null, EmbeddingResult? Result = null) : IRouteAttempt;
}
