using Conversations.Grains;
using Conversations.Grains.Memory;
using Conversations.Grains.Quotas;
using Conversations.Grains.Routing;
using Conversations.Grains.Tenancy;
using Conversations.Memory;
using Conversations.Providers;
using Conversations.Routing;
using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Grains;

/// <summary>
/// Every grain with persistent state follows one rule when a write fails: the caller gets storage_unavailable (a 503
/// with retry-after at the API), the failure is logged once, and memory never runs ahead of storage; when the write
/// landed despite the error, the grain shows it from a fresh activation.
/// </summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class StorageFaultTests(StorageFaultFixture fixture) : IClassFixture<StorageFaultFixture>
{
    /// <summary>Every grain kind with persistent state, by name: the scenario for a fresh key.</summary>
    private static readonly Dictionary<string, Func<StorageFaultTests, string, Scenario>> Kinds = new()
    {
        ["conversation"] = (test, id) => test.Conversation(id),
        ["response"] = (test, id) => test.Response(id),
        ["response-delete"] = (test, id) => test.ResponseDelete(id),
        ["usage"] = (test, id) => test.Usage(id),
        ["quota"] = (test, id) => test.Quota(id),
        ["route"] = (test, id) => test.Route(id),
        ["tenant-routes"] = (test, id) => test.TenantRoutes(id),
        ["vector-index"] = (test, id) => test.VectorIndex(id),
        ["knowledge-base"] = (test, id) => test.KnowledgeBase(id),
        ["idempotency"] = (test, id) => test.Idempotency(id),
        ["tenant"] = (test, id) => test.Tenant(id),
        ["tenant-storage"] = (test, id) => test.TenantStorage(id),
        ["key-index"] = (test, id) => test.KeyIndex(id),
    };

    public static TheoryData<string, bool> Faults { get; } = new(Kinds.Keys.SelectMany(kind => new[] { (kind, false), (kind, true) }));

    private IGrainFactory Grains => fixture.Grains;

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_failed_write_answers_storage_unavailable_and_the_grain_then_shows_what_storage_holds(string kind, bool landed)
    {
        var scenario = Kinds[kind](this, Guid.NewGuid().ToString("N")[..12]);
        if (scenario.Arrange is not null)
        {
            await scenario.Arrange();
        }

        GatewayError? failed;
        using (FaultyGrainStorage.Fail(scenario.Grain.GetGrainId(), landed))
        {
            failed = await scenario.Change();
        }

        Assert.Equal(GatewayError.StorageUnavailable, failed);
        Assert.Single(fixture.Logs.Lines, line => line.StartsWith($"Error {scenario.Kind.FullName}:", StringComparison.Ordinal)
            && line.Contains(scenario.Grain.GetGrainId().Key.ToString()!, StringComparison.Ordinal)
            && line.Contains(FaultyGrainStorage.Failure, StringComparison.Ordinal));
        var shown = await scenario.Shown();
        Assert.Equal(await scenario.Held(), shown);
    }

    [Fact]
    public async Task A_conversation_whose_write_fails_releases_what_it_reserved_against_its_tenant()
    {
        var tenant = Guid.NewGuid().ToString("N")[..12];
        var grain = Grains.GetGrain<IConversationGrain>(GrainKeys.For(tenant, "conv_1"));
        var limits = StorageLimits.Default;

        Result<ConversationInfo> failed;
        using (FaultyGrainStorage.Fail(grain.GetGrainId(), landed: false))
        {
            failed = await grain.Create(new Dictionary<string, string>(), [new NewItem(Roles.User, "twelve bytes")], null, limits);
        }

        Assert.Equal(GatewayError.StorageUnavailable, failed.Error);
        Assert.Equal(StoredData.None, await Grains.GetGrain<ITenantStorageGrain>(tenant).Get());
        Assert.True((await grain.Create(new Dictionary<string, string>(), [new NewItem(Roles.User, "twelve bytes")], null, limits)).IsSuccess);
        Assert.Equal(new StoredData(1, 12), await Grains.GetGrain<ITenantStorageGrain>(tenant).Get());
    }

    /// <summary>Later calls reach a fresh activation, which hides what a failed write left in memory; the rest of the failed call sees it.</summary>
    [Fact]
    public async Task A_failed_write_leaves_the_state_in_memory_as_it_was()
    {
        var state = new UnwritableState<string>("stored");

        var failure = await state.TryReplace("not stored");

        Assert.IsType<TimeoutException>(failure);
        Assert.Equal("stored", state.State);
    }

    private Scenario Conversation(string id)
    {
        var grain = Grains.GetGrain<IConversationGrain>(GrainKeys.For(id, "conv_1"));
        return new(grain, typeof(ConversationGrain),
            async () => (await grain.Create(new Dictionary<string, string>(), [])).Error,
            async () => (await grain.Get()).IsSuccess,
            async () => (await fixture.Stored<ConversationState>(ConversationStore.HeadName, grain))?.Exists == true);
    }

    private Scenario Response(string id)
    {
        var grain = Grains.GetGrain<IResponseGrain>(GrainKeys.For(id, "resp_1"));
        return new(grain, typeof(ResponseGrain),
            async () => (await grain.Save(NewResponse())).Error,
            async () => (await grain.Get()).IsSuccess,
            async () => (await fixture.Stored<ResponseState>("response", grain))?.Response is not null);
    }

    /// <summary>A clear rather than a write: the stored response stays until storage has dropped it.</summary>
    private Scenario ResponseDelete(string id)
    {
        var grain = Grains.GetGrain<IResponseGrain>(GrainKeys.For(id, "resp_1"));
        return Response(id) with
        {
            Arrange = async () => Assert.True((await grain.Save(NewResponse())).IsSuccess),
            Change = async () => (await grain.Delete()).Error,
        };
    }

    private Scenario Usage(string id)
    {
        var grain = Grains.GetGrain<IUsageGrain>(GrainKeys.For(id, "2026-01-01"));
        var row = new UsageRow(new DateOnly(2026, 1, 1), "key_1", string.Empty, "sim-small", 1, 10, 20, 0.01m);
        return new(grain, typeof(UsageGrain),
            () => grain.Record(Guid.NewGuid(), [row]),
            async () => (await grain.Get()).Count > 0,
            async () => (await fixture.Stored<UsageState>("usage", grain))?.Rows.Count > 0);
    }

    /// <summary>60 of a 100-token daily budget are settled, then flushed: whether a 50-token call is refused tells whether they count.</summary>
    private Scenario Quota(string id)
    {
        var grain = Grains.GetGrain<ITenantQuotaGrain>(id);
        var caller = new Caller(id, "key_1", Role.Member, [], [], Limits.None, new Limits(DailyTokens: 100), Limits.None);
        return new(grain, typeof(TenantQuotaGrain),
            grain.FlushUsage,
            async () => !(await grain.Admit(new AdmissionRequest("lease_2", caller, null, 50, 0))).IsSuccess,
            async () => (await fixture.Stored<QuotaState>("quota", grain))?.Budgets.GetValueOrDefault("tenant")?.DayTokens == 60,
            async () =>
            {
                Assert.True((await grain.Admit(new AdmissionRequest("lease_1", caller, null, 10, 0))).IsSuccess);
                await grain.Settle("lease_1", caller, null, "sim-small", new TokenUsage(30, 30), 0);
            });
    }

    private Scenario Route(string id)
    {
        var grain = Grains.GetGrain<IModelRouteGrain>(GrainKeys.For(id, "assistant"));
        var route = new RouteConfig { Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }] };
        return new(grain, typeof(ModelRouteGrain),
            async () => (await grain.Change(route, "test")).Error,
            async () => (await grain.Describe()).IsSuccess,
            async () => (await fixture.Stored<RouteState>("route", grain))?.Versions.Count > 0);
    }

    private Scenario TenantRoutes(string id)
    {
        var grain = Grains.GetGrain<ITenantRoutesGrain>(id);
        return new(grain, typeof(TenantRoutesGrain),
            () => grain.Register("assistant", new ModelDescription("assistant", "conversations", 8_000)),
            () => grain.Owns("assistant"),
            async () => (await fixture.Stored<TenantRoutesState>("routes", grain))?.Own.ContainsKey("assistant") == true);
    }

    private Scenario VectorIndex(string id)
    {
        var grain = Grains.GetGrain<IVectorIndexGrain>(GrainKeys.For(id, "kb:kb_1"));
        return new(grain, typeof(VectorIndexGrain),
            () => grain.Upsert([new VectorRecord("chunk_1", [1f, 0f], "doc_1", "text")]),
            async () => (await grain.Sources()).Contains("doc_1"),
            async () => (await fixture.Stored<VectorIndexState>("vectors", grain))?.Records.Count > 0);
    }

    private Scenario KnowledgeBase(string id)
    {
        var grain = Grains.GetGrain<IKnowledgeBaseGrain>(GrainKeys.For(id, "kb_1"));
        return new(grain, typeof(KnowledgeBaseGrain),
            async () => (await grain.Create("handbook")).Error,
            async () => (await grain.Get()).IsSuccess,
            async () => (await fixture.Stored<KnowledgeBaseState>("knowledge", grain))?.Name is not null);
    }

    /// <summary>A claim of another body is refused as a mismatch only while the first body's claim is held.</summary>
    private Scenario Idempotency(string id)
    {
        var grain = Grains.GetGrain<IIdempotencyGrain>(GrainKeys.For(id, "key_1"));
        return new(grain, typeof(IdempotencyGrain),
            async () => (await grain.Claim("first")).Error,
            async () => (await grain.Claim("second")).Value?.Outcome == IdempotencyOutcome.Mismatch,
            async () => (await fixture.Stored<IdempotencyState>("idempotency", grain))?.Fingerprint == "first");
    }

    private Scenario Tenant(string id)
    {
        var grain = Grains.GetGrain<ITenantGrain>(id);
        return new(grain, typeof(TenantGrain),
            async () => (await grain.Create("Acme", new TenantChange())).Error,
            async () => (await grain.Get()).IsSuccess,
            async () => (await fixture.Stored<TenantState>("tenant", grain))?.Settings is not null);
    }

    private Scenario TenantStorage(string id)
    {
        var grain = Grains.GetGrain<ITenantStorageGrain>(id);
        return new(grain, typeof(TenantStorageGrain),
            () => grain.Reserve(new StoredData(1, 10), StorageLimits.Default),
            async () => (await grain.Get()).Conversations == 1,
            async () => (await fixture.Stored<TenantStorageState>("storage", grain))?.Stored.Conversations == 1);
    }

    private Scenario KeyIndex(string id)
    {
        var grain = Grains.GetGrain<IApiKeyIndexGrain>(id);
        return new(grain, typeof(ApiKeyIndexGrain),
            () => grain.Register(new KeyLocation(id, "key_1")),
            async () => await grain.Find() is not null,
            async () => (await fixture.Stored<KeyIndexState>("keyindex", grain))?.Location is not null);
    }

    private static StoredResponse NewResponse() => new(
        "resp_1", DateTimeOffset.UnixEpoch, "sim-small", null, [], [], new TokenUsage(0, 0), null, null,
        new Dictionary<string, string>(), null, null, null, "completed", null);

    private sealed class UnwritableState<T>(T state) : IPersistentState<T>
    {
        public T State { get; set; } = state;

        public string? Etag => null;

        public bool RecordExists => true;

        public Task ReadStateAsync() => Task.CompletedTask;

        public Task WriteStateAsync() => Task.FromException(new TimeoutException(FaultyGrainStorage.Failure));

        public Task ClearStateAsync() => Task.FromException(new TimeoutException(FaultyGrainStorage.Failure));
    }

    /// <summary>
    /// A grain (<paramref name="Kind"/> is its class), a change made to it while its storage fails, and one fact that
    /// change decides: as the grain shows it afterwards, and as storage holds it.
    /// </summary>
    private sealed record Scenario(
        IAddressable Grain, Type Kind, Func<Task<GatewayError?>> Change, Func<Task<bool>> Shown, Func<Task<bool>> Held, Func<Task>? Arrange = null);
}
