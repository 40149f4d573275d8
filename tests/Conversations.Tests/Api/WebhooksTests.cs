using System.Net;
using System.Text.Json;
using Conversations.Tests.Api.OpenApi;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>
/// Webhooks for background responses over real HTTP: an endpoint registered through the admin API, events delivered to a
/// real Kestrel receiver that verifies each signature with the StandardWebhooks library, retried after failures, delivered
/// once after a success, logged and redelivered on request. Loopback is allowed by this test's settings only.
/// </summary>
public sealed class WebhooksTests(WebhooksTests.Fixture fixture) : IClassFixture<WebhooksTests.Fixture>
{
    private const string Tenant = "other"; // GatewayFactory.OtherTenantKey is this tenant's admin

    [Fact]
    public async Task A_completed_background_response_is_delivered_signed_in_OpenAI_s_shape_and_redelivered_on_request()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var http = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var endpoint = await Register(http, receiver, "response.completed");

        var responseId = await StartBackground(http, "Tell me when done");
        var delivery = await receiver.Next();
        var listed = await http.GetJson($"/v1/admin/tenants/{Tenant}/webhooks");
        var log = (await http.GetJson($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}/deliveries")).GetProperty("data");
        var redelivered = await http.PostJson($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}/deliveries/{delivery.WebhookId}/redeliver", "{}");
        var again = await receiver.Next();
        var stored = await http.GetJson($"/v1/responses/{responseId}");
        await Delete(http, endpoint);

        Assert.Null(delivery.VerificationError);
        Assert.Empty(OpenAIDocument.Instance.Check("WebhookResponseCompleted", delivery.Json));
        Assert.Equal("response.completed", delivery.Type);
        Assert.Equal("event", delivery.Json.GetProperty("object").GetString());
        Assert.Equal(responseId, delivery.ResponseId);
        Assert.Equal(delivery.Json.GetProperty("id").GetString(), delivery.WebhookId);
        Assert.Equal("completed", stored.GetProperty("status").GetString()); // the event is sent once the response is stored finished
        Assert.False(listed.GetProperty("data")[0].TryGetProperty("secret", out _)); // shown once, at creation
        Assert.Equal("delivered", log[0].GetProperty("status").GetString());
        Assert.Equal(1, log[0].GetProperty("attempts").GetInt32());
        Assert.Equal(200, log[0].GetProperty("last_status_code").GetInt32());
        Assert.Equal("pending", redelivered.GetProperty("status").GetString());
        Assert.Equal(delivery.Body, again.Body);
        Assert.Null(again.VerificationError);
    }

    [Fact]
    public async Task A_failed_delivery_is_retried_until_it_succeeds_and_is_then_not_delivered_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var http = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var endpoint = await Register(http, receiver, "response.completed");
        receiver.FailNext(2);

        var first = await StartBackground(http, "Retry me");
        var attempts = new[] { await receiver.Next(), await receiver.Next(), await receiver.Next() };
        var second = await StartBackground(http, "And me");
        var next = await receiver.Next(); // deliveries to one endpoint go in order: the first event is done once this arrives
        var log = (await http.GetJson($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}/deliveries")).GetProperty("data");
        await Delete(http, endpoint);

        Assert.Equal([500, 500, 200], attempts.Select(a => a.AnsweredStatus));
        Assert.All(attempts, a => Assert.Equal(first, a.ResponseId));
        Assert.All(attempts, a => Assert.Null(a.VerificationError));
        Assert.Single(attempts.Select(a => a.WebhookId).Distinct()); // one event id across retries: the receiver can deduplicate
        Assert.Equal(second, next.ResponseId);
        var firstLogged = log.EnumerateArray().Single(d => d.GetProperty("response_id").GetString() == first);
        Assert.Equal("delivered", firstLogged.GetProperty("status").GetString());
        Assert.Equal(3, firstLogged.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task An_endpoint_gets_only_the_events_it_subscribed_to_and_a_cancelled_response_raises_its_event()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var http = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var endpoint = await Register(http, receiver, "response.cancelled");

        var completed = await StartBackground(http, "Done quickly");
        await Eventually.Get(async () => (await http.GetJson($"/v1/responses/{completed}")).GetProperty("status").GetString() == "completed" ? "done" : null);
        var hanging = await StartBackground(http, "Wait for me [sim:hang]");
        await Eventually.Get(async () => (await http.GetJson($"/v1/responses/{hanging}")).GetProperty("status").GetString() == "in_progress" ? "running" : null);
        await http.PostJson($"/v1/responses/{hanging}/cancel", "{}");
        var delivery = await receiver.Next(); // the completed response's event, had it been sent, would have come first
        await Delete(http, endpoint);

        Assert.Equal("response.cancelled", delivery.Type);
        Assert.Equal(hanging, delivery.ResponseId);
        Assert.Empty(OpenAIDocument.Instance.Check("WebhookResponseCancelled", delivery.Json));
    }

    [Fact]
    public async Task A_disabled_endpoint_is_not_sent_the_events_published_meanwhile_and_is_sent_new_ones_once_enabled()
    {
        await using var disabled = await WebhookReceiver.StartAsync();
        await using var witness = await WebhookReceiver.StartAsync();
        using var http = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var endpoint = await Register(http, disabled, "response.completed"); // registered first: an event reaches it before the witness
        var other = await Register(http, witness, "response.completed");

        var off = await http.PostJson($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}/disable", "{}");
        var whileOff = await StartBackground(http, "Nobody listens");
        var witnessed = await witness.Next(); // the event was published: the disabled endpoint was passed over before this
        var log = (await http.GetJson($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}/deliveries")).GetProperty("data");
        var on = await http.PostJson($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}/enable", "{}");
        var afterwards = await StartBackground(http, "Now it listens");
        var delivered = await disabled.Next();
        await Delete(http, endpoint);
        await Delete(http, other);

        Assert.True(off.GetProperty("disabled").GetBoolean());
        Assert.Equal(whileOff, witnessed.ResponseId);
        Assert.Empty(log.EnumerateArray());
        Assert.False(on.GetProperty("disabled").GetBoolean());
        Assert.Equal(afterwards, delivered.ResponseId); // not the event published while it was disabled
    }

    [Fact]
    public async Task Endpoints_with_bad_urls_or_events_are_refused_naming_the_field_and_other_tenants_cannot_see_them()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var http = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        using var thirdTenant = fixture.Gateway.Http(Fixture.ThirdTenantKey);
        var endpoint = await Register(http, receiver, "response.failed");

        using var ftp = await http.PostAsync($"/v1/admin/tenants/{Tenant}/webhooks", JsonHttp.Body("""{"url":"ftp://example.com/hook","events":["response.completed"]}"""));
        using var privateNetwork = await http.PostAsync($"/v1/admin/tenants/{Tenant}/webhooks", JsonHttp.Body("""{"url":"http://10.1.2.3/hook","events":["response.completed"]}"""));
        using var metadata = await http.PostAsync($"/v1/admin/tenants/{Tenant}/webhooks", JsonHttp.Body("""{"url":"http://169.254.169.254/latest","events":["response.completed"]}"""));
        using var noEvents = await http.PostAsync($"/v1/admin/tenants/{Tenant}/webhooks", JsonHttp.Body($$"""{"url":"{{receiver.Url}}","events":[]}"""));
        using var unknownEvent = await http.PostAsync($"/v1/admin/tenants/{Tenant}/webhooks", JsonHttp.Body($$"""{"url":"{{receiver.Url}}","events":["batch.completed"]}"""));
        using var noUrl = await http.PostAsync($"/v1/admin/tenants/{Tenant}/webhooks", JsonHttp.Body("""{"events":["response.completed"]}"""));
        using var otherTenant = await thirdTenant.GetAsync($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}");
        await Delete(http, endpoint);
        using var deleted = await http.GetAsync($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}");

        await ftp.AssertOpenAIError(HttpStatusCode.BadRequest, "url");
        await privateNetwork.AssertOpenAIError(HttpStatusCode.BadRequest, "url");
        await metadata.AssertOpenAIError(HttpStatusCode.BadRequest, "url");
        await noEvents.AssertOpenAIError(HttpStatusCode.BadRequest, "events");
        await unknownEvent.AssertOpenAIError(HttpStatusCode.BadRequest, "events");
        await noUrl.AssertOpenAIError(HttpStatusCode.BadRequest, "url");
        await otherTenant.AssertOpenAIError(HttpStatusCode.NotFound);
        await deleted.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    private static async Task<string> Register(HttpClient http, WebhookReceiver receiver, string events)
    {
        var created = await http.PostJson($"/v1/admin/tenants/{Tenant}/webhooks", $$"""{"url":"{{receiver.Url}}","events":["{{events}}"]}""");
        receiver.Secret = created.GetProperty("secret").GetString();
        Assert.StartsWith("whsec_", receiver.Secret, StringComparison.Ordinal);
        Assert.Equal("webhook_endpoint", created.GetProperty("object").GetString());
        return created.GetProperty("id").GetString()!;
    }

    private static async Task Delete(HttpClient http, string endpoint)
    {
        using var deleted = await http.DeleteAsync($"/v1/admin/tenants/{Tenant}/webhooks/{endpoint}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
    }

    private static async Task<string> StartBackground(HttpClient http, string input) =>
        (await http.PostJson("/v1/responses", JsonSerializer.Serialize(new { model = "sim-small", input, background = true }))).GetProperty("id").GetString()!;

    /// <summary>A gateway that may send webhooks to loopback over http (explicitly allowed here, as nowhere by default), retrying quickly.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        /// <summary>The admin of a third tenant.</summary>
        public const string ThirdTenantKey = "sk-test-third-tenant";

        public GatewayFactory Gateway { get; private set; } = null!;

        public ValueTask InitializeAsync()
        {
            Gateway = new GatewayFactory(new Dictionary<string, string?>
            {
                ["Conversations:Auth:Keys:2:Key"] = ThirdTenantKey,
                ["Conversations:Auth:Keys:2:Tenant"] = "third",
                ["Conversations:Auth:Keys:2:Role"] = "TenantAdmin",
                ["Conversations:Webhooks:AllowedNetworks:0"] = "127.0.0.0/8",
                ["Conversations:Webhooks:AllowInsecureHttp"] = "true",
                ["Conversations:Webhooks:FirstRetryDelay"] = "00:00:00.100",
            });
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => Gateway.DisposeAsync();
    }
}
